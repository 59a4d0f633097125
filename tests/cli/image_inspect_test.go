package cli_test

import (
	"strings"
	"testing"
)

// TestImageInspectDockerFields: image inspect shows the config fields
// Docker adds to the OCI ones (Healthcheck, Shell, OnBuild), as docker
// image inspect does.
func TestImageInspectDockerFields(t *testing.T) {
	e := newEnv(t).withBusybox()
	dockerfile := "FROM busybox\n" +
		"HEALTHCHECK --interval=5s --retries=2 CMD [\"true\"]\n" +
		"SHELL [\"/bin/sh\", \"-ec\"]\n" +
		"ONBUILD RUN echo child\n"
	if _, stderr, code := e.run([]byte(dockerfile), "build", "-q", "-t", "fields", "-"); code != 0 {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	for format, want := range map[string]string{
		"{{json .Config.Healthcheck}}": `{"Interval":5000000000,"Retries":2,"Test":["CMD","true"]}`,
		"{{json .Config.Shell}}":       `["/bin/sh","-ec"]`,
		"{{json .Config.OnBuild}}":     `["RUN echo child"]`,
	} {
		if got := strings.TrimSpace(e.must("image", "inspect", "-f", format, "fields")); got != want {
			t.Errorf("image inspect -f %s = %s, want %s", format, got, want)
		}
	}
}
