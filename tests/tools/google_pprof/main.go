// Google's standalone pprof, as `go install github.com/google/pprof`
// would make it, from the copy of its sources that Go itself vendors (no
// download): unlike `go tool pprof`, it reads the build IDs of local
// files, so a test can check that a stripped file's frames are named from
// its debug file in PPROF_BINARY_PATH/<build ID>/<file name>.
package main

import (
	"fmt"
	"os"

	"github.com/google/pprof/driver"
)

func main() {
	if err := driver.PProf(&driver.Options{}); err != nil {
		fmt.Fprintf(os.Stderr, "pprof: %v\n", err)
		os.Exit(2)
	}
}
