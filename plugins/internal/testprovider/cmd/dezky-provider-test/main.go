// Command dezky-provider-test serves the reference in-memory provider as a
// plugin process.
package main

import (
	"github.com/dezky/platform/plugins/internal/testprovider"
	"github.com/dezky/platform/plugins/sdk"
)

func main() { sdk.Serve(testprovider.New()) }
