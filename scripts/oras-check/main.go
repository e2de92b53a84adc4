// An independent OCI client check (run.sh): oras-go v1, the library and containerd resolver
// Helm 3.8-3.12 push and pull charts with, against appr-core serve.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	orascontent "oras.land/oras-go/pkg/content"
	"oras.land/oras-go/pkg/oras"
)

const (
	helmConfig = "application/vnd.cncf.helm.config.v1+json"
	helmLayer  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL %s: %v\n", what, err)
		os.Exit(1)
	}
}

func main() {
	host, user, password, chartFile, apprRef := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	ctx := context.Background()
	chart, err := os.ReadFile(chartFile)
	must(err, "read chart")
	registry, err := orascontent.NewRegistry(orascontent.RegistryOptions{Username: user, Password: password, PlainHTTP: true})
	must(err, "resolver")

	// Push as Helm 3.8-3.12 does: config, one chart layer, an OCI manifest, at a tag.
	store := orascontent.NewMemory()
	config := []byte(`{"name":"orascheck","version":"0.1.0","apiVersion":"v2"}`)
	configDesc, err := store.Add("", helmConfig, config)
	must(err, "config")
	layerDesc, err := store.Add("", helmLayer, chart)
	must(err, "layer")
	manifest, manifestDesc, err := orascontent.GenerateManifest(&configDesc, nil, layerDesc)
	must(err, "manifest")
	ref := host + "/charts/orascheck:" + os.Args[6]
	must(store.StoreManifest(ref, manifestDesc, manifest), "store manifest")
	pushed, err := oras.Copy(ctx, store, ref, registry, "")
	must(err, "push "+ref)
	fmt.Printf("ok push %s %s\n", ref, pushed.Digest)

	// Pull it back; the layer must be the chart, byte for byte.
	pull := func(ref string) []byte {
		into := orascontent.NewMemory()
		var layers []ocispec.Descriptor
		_, err := oras.Copy(ctx, registry, ref, into, "", oras.WithAllowedMediaType(helmConfig, helmLayer, ocispec.MediaTypeImageManifest), oras.WithLayerDescriptors(func(d []ocispec.Descriptor) { layers = d }))
		must(err, "pull "+ref)
		for _, d := range layers {
			if d.MediaType == helmLayer {
				_, b, ok := into.Get(d)
				if ok {
					return b
				}
			}
		}
		must(fmt.Errorf("no chart layer"), "pull "+ref)
		return nil
	}
	if !bytes.Equal(pull(ref), chart) {
		must(fmt.Errorf("bytes differ"), "pull "+ref)
	}
	fmt.Printf("ok pull %s\n", ref)
	// A release pushed through the appr API, served live at /v2/.
	if !bytes.Equal(pull(host+"/"+apprRef), chart) {
		must(fmt.Errorf("bytes differ"), "pull "+apprRef)
	}
	fmt.Printf("ok pull %s (pushed through the appr API)\n", apprRef)
}
