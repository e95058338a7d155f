//go:build !unix

package localch

import (
	"context"
	"errors"
	"os/exec"
	"time"
)

// Sessions, flock and signals are Unix ideas; elsewhere the package builds so
// the CLI does, and every operation says it is unsupported.
var errUnsupported = errors.New("the local ClickHouse launcher needs a Unix system")

func detach(*exec.Cmd) {}

func lockDir(context.Context, string) (func(), error) { return nil, errUnsupported }

func ours(int, string) bool { return false }

func terminate(context.Context, int, string, time.Duration) (bool, error) {
	return false, errUnsupported
}
