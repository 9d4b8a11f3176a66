package portal

// Leak is a secret value reported as found in public: by whom (the scanning
// partner's actor name), where, and in what kind of content.
type Leak struct {
	Value    string // the reported value; never stored or logged
	Reporter string // e.g. "secret-scanning:github"
	URL      string // where it was found
	Source   string // the kind of content, e.g. "content", "commit"
}
