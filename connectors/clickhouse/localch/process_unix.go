//go:build unix

package localch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// detach puts the server in its own session so that it outlives the CLI and
// ignores the Ctrl-C sent to the terminal's process group.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}

// lockDir serialises Start and Stop on one directory across processes. The
// descriptor is close-on-exec, so the server never inherits the lock.
func lockDir(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); _ = f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ours says whether pid is alive and is the server started with config. A
// pid from an old state file may since have been given to another process;
// where /proc exists its command line settles that.
func ours(pid int, config string) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		_, noProc := os.Stat("/proc/self/stat")
		return noProc != nil // no procfs (macOS): the signal check is all we have
	}
	// Field 3, after the parenthesised name, is the state; a zombie is dead.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	for _, arg := range strings.Split(string(cmdline), "\x00") {
		if arg == "--config-file="+config {
			return true
		}
	}
	return false
}

// terminate sends SIGTERM, waits up to grace for the process to go, then
// SIGKILLs it. It reports whether SIGKILL was needed.
func terminate(ctx context.Context, pid int, config string, grace time.Duration) (killed bool, err error) {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return false, nil
		}
		return false, fmt.Errorf("SIGTERM: %w", err)
	}
	if waitGone(ctx, pid, config, grace) {
		return false, nil
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return true, fmt.Errorf("SIGKILL: %w", err)
	}
	if !waitGone(ctx, pid, config, 10*time.Second) {
		return true, errors.New("still running after SIGKILL")
	}
	return true, nil
}

func waitGone(ctx context.Context, pid int, config string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for ours(pid, config) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}
