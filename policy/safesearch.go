package policy

// safeSearchHosts maps search engine and YouTube names to the host that
// serves only their safe results (the vendors' documented way for schools
// and libraries to enforce it in DNS).
var safeSearchHosts = map[string]string{
	"www.google.com":           "forcesafesearch.google.com",
	"google.com":               "forcesafesearch.google.com",
	"www.google.ca":            "forcesafesearch.google.com",
	"www.google.co.uk":         "forcesafesearch.google.com",
	"www.google.com.mx":        "forcesafesearch.google.com",
	"www.bing.com":             "strict.bing.com",
	"bing.com":                 "strict.bing.com",
	"duckduckgo.com":           "safe.duckduckgo.com",
	"www.duckduckgo.com":       "safe.duckduckgo.com",
	"start.duckduckgo.com":     "safe.duckduckgo.com",
	"search.yahoo.com":         "safe.search.yahoo.com",
	"www.youtube.com":          "restrict.youtube.com",
	"m.youtube.com":            "restrict.youtube.com",
	"youtube.com":              "restrict.youtube.com",
	"youtubei.googleapis.com":  "restrict.youtube.com",
	"youtube.googleapis.com":   "restrict.youtube.com",
	"www.youtube-nocookie.com": "restrict.youtube.com",
	"music.youtube.com":        "restrict.youtube.com",
	"www.pixabay.com":          "safesearch.pixabay.com",
	"pixabay.com":              "safesearch.pixabay.com",
}

// safeSearch marks an allowed decision for a department that enforces safe search.
func (p *Policy) safeSearch(dec Decision, name string) Decision {
	if dec.Department != nil && dec.Department.SafeSearch {
		dec.SafeSearch = safeSearchHosts[name]
	}
	return dec
}
