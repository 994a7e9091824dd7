package interop

import (
	"os"
	"os/exec"
	"testing"
)

// inCI reports whether the tests run under the CI script, where every
// third-party program the tests use is installed and a missing one is an
// error rather than a reason to skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// requireProgram returns the path of a program (a name looked up in PATH or
// an absolute path). When it is missing the test fails under CI and is
// skipped elsewhere.
func requireProgram(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if inCI() {
			t.Fatalf("%s is required under CI (installed by .ci/run): %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return path
}
