package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The two build steps of the PGO loop, as the README and the issue give them.
const (
	curlLine  = "RUN curl -fsS -o default.pgo http://${PGO_GATEWAY}/profile/${SERVICE_TAG} || true"
	buildLine = "RUN go build -pgo=auto -trimpath -o service ."
)

// buildStage returns the instructions of the Dockerfile's first stage (after
// its FROM, up to the next FROM), comments dropped and continuation lines
// joined. It is written independently of build.sh's parser on purpose.
func buildStage(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	var cont strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cont.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cont.WriteString(strings.TrimSuffix(line, `\`))
			continue
		}
		cont.WriteString(line)
		all = append(all, strings.TrimSpace(cont.String()))
		cont.Reset()
	}
	var stage []string
	froms := 0
	for _, in := range all {
		if strings.HasPrefix(strings.ToUpper(in), "FROM ") {
			froms++
			continue
		}
		if froms == 1 {
			stage = append(stage, in)
		}
	}
	if froms < 2 {
		t.Fatalf("Dockerfile has %d FROM lines, want a build stage and a final stage", froms)
	}
	return stage
}

// build.sh carries out exactly the Dockerfile's build stage, in order.
func TestBuildScriptFollowsDockerfile(t *testing.T) {
	want := buildStage(t)
	out, err := exec.Command("bash", "build.sh", "-n").Output()
	if err != nil {
		t.Fatalf("build.sh -n: %v", err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if !slices.Equal(got, want) {
		t.Errorf("build.sh -n runs\n  %s\nbut the Dockerfile's build stage is\n  %s",
			strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// The build stage fetches the profile with the documented curl line and
// then builds with -pgo=auto, which reads it.
func TestDockerfileFetchesProfileBeforeBuild(t *testing.T) {
	stage := buildStage(t)
	var runs []string
	for _, in := range stage {
		if strings.HasPrefix(in, "RUN ") {
			runs = append(runs, in)
		}
	}
	if !slices.Equal(runs, []string{curlLine, buildLine}) {
		t.Errorf("RUN lines are\n  %s\nwant\n  %s\n  %s", strings.Join(runs, "\n  "), curlLine, buildLine)
	}
	for _, arg := range []string{"ARG PGO_GATEWAY=", "ARG SERVICE_TAG="} {
		if !slices.ContainsFunc(stage, func(s string) bool { return strings.HasPrefix(s, arg) }) {
			t.Errorf("the build stage has no %s...", arg)
		}
	}
	// -pgo=auto reads default.pgo from the main package's directory: the
	// curl must run in the WORKDIR that holds main.go.
	var workdir string
	for _, in := range stage {
		if strings.HasPrefix(in, "WORKDIR ") {
			workdir = strings.TrimPrefix(in, "WORKDIR ")
		}
		if in == curlLine {
			break
		}
	}
	if workdir != "/src/examples/service" {
		t.Errorf("curl runs in WORKDIR %q, want /src/examples/service (the main package)", workdir)
	}
}
