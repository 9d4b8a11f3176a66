package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// markdownLink matches the target of a Markdown link or image.
	markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// autolink matches what GitHub turns into a link by itself: a URL or an
	// email address written as plain text.
	autolink = regexp.MustCompile(`https?://\S+|www\.\S+|mailto:\S+|[\w.+-]+@[\w-]+\.[A-Za-z][\w.-]*`)
	// fence opens or closes a fenced code block.
	fence = regexp.MustCompile("^\\s*(```|~~~)")
	// codeSpan matches inline code, which may run over a line break.
	codeSpan = regexp.MustCompile("(?s)``.+?``|`[^`]+`")
)

// TestLinksStayInTheRepository: a clone has everything README.md and docs/
// link to. No link leaves the repository — neither a Markdown link nor an
// address GitHub would link by itself (outside code, where it is text) — and
// every relative one names a file that exists.
func TestLinksStayInTheRepository(t *testing.T) {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join("..", "README.md"))
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		prose := proseOf(string(raw))
		for _, m := range autolink.FindAllString(prose, -1) {
			t.Errorf("%s links outside the repository: %s (write it in a code span)", file, m)
		}
		for _, m := range markdownLink.FindAllStringSubmatch(prose, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				t.Errorf("%s links outside the repository: %s", file, target)
				continue
			}
			if strings.HasPrefix(target, "#") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			resolved, err := filepath.Abs(filepath.Join(filepath.Dir(file), target))
			if err != nil {
				t.Fatal(err)
			}
			if rel, err := filepath.Rel(root, resolved); err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s links outside the repository: %s", file, m[1])
				continue
			}
			if _, err := os.Stat(resolved); err != nil {
				t.Errorf("%s links to %s, which does not exist", file, m[1])
			}
		}
	}
}

// proseOf is the Markdown text without its code blocks and code spans,
// where nothing is a link.
func proseOf(markdown string) string {
	var out []string
	inBlock := false
	for _, line := range strings.Split(markdown, "\n") {
		if fence.MatchString(line) {
			inBlock = !inBlock
			continue
		}
		if !inBlock {
			out = append(out, line)
		}
	}
	return codeSpan.ReplaceAllString(strings.Join(out, "\n"), "")
}

// TestProseOf: links in code are text; links in prose are found.
func TestProseOf(t *testing.T) {
	md := "See [the guide](deploy.md) and https://example.org/x.\n\n```sh\ncurl https://in.a.block/\n```\n" +
		"`https://in.a.span/` and `a span\nover two lines https://x.y/` and ops@registry.example.\n"
	prose := proseOf(md)
	if got := autolink.FindAllString(prose, -1); strings.Join(got, " ") != "https://example.org/x. ops@registry.example." {
		t.Errorf("autolinks found in %q: %q", prose, got)
	}
	if got := markdownLink.FindAllStringSubmatch(prose, -1); len(got) != 1 || got[0][1] != "deploy.md" {
		t.Errorf("links found in %q: %q", prose, got)
	}
}
