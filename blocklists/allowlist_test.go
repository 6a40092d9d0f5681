package blocklists

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// reviewedAllow is every allow entry of the shipped lists, reviewed one by
// one (each has its reason beside it in the list file). An entry added to a
// list without being added here, after review, fails the test: an allow
// entry lifts a category for the whole city.
var reviewedAllow = map[string][]string{
	"adult": {"tmz.com", "vice.com", "etonline.com", "urbandictionary.com", "match.com", "istockphoto.com",
		"hearstmags.com", "stylebistro.com", "imageshack.us", "mediafire.com", "51.la", "rtalabel.org",
		"scarleteen.com", "sexetc.org", "onsexprime.fr", "amazonlogistics.eu", "gaylordhospital.com",
		"gov", "mil", "int", "edu", "gov.uk", "gov.au", "govt.nz", "gc.ca", "gov.in", "gov.bd", "gov.la", "gob.mx", "gob.pe", "gouv.fr", "europa.eu", "ac.uk", "edu.au", "edu.mx", "edu.co", "edu.ph", "edu.bd", "ac.th", "ac.ke"},
	"gambling": {"mnlottery.com", "mn.gov", "goodgamestudios.com",
		"gov", "mil", "int", "edu", "gov.uk", "gov.au", "govt.nz", "gc.ca", "gov.in", "gov.bd", "gov.la", "gob.mx", "gob.pe", "gouv.fr", "europa.eu", "ac.uk", "edu.au", "edu.mx", "edu.co", "edu.ph", "edu.bd", "ac.th", "ac.ke"},
	"chat": {"msecnd.net", "msedge.net", "msn.com", "live.com", "live.net",
		"livechatinc.com", "livechatinc.net", "livechat.com", "livechat.aoscdn.com", "liveperson.com", "jivochat.com", "crisp.chat",
		"chatenabled.mail.google.com", "amazonaws.com"},
	"filesharing": {"archive.org", "loc.gov", "nasa.gov", "pbs.org", "gov", "mil", "edu",
		"dropbox.com", "dropboxusercontent.com", "dropboxstatic.com", "box.com", "box.net", "boxcdn.net",
		"sharepoint.com", "onedrive.com", "onedrive.live.com", "1drv.ms", "microsoft.com", "office.com", "live.com",
		"drive.google.com", "docs.google.com", "googleusercontent.com", "icloud.com", "apple.com",
		"github.com", "githubusercontent.com", "gitlab.com", "sourceforge.net", "amazonaws.com", "cloudfront.net",
		"llnwd.net", "akamaized.net", "akamaihd.net", "fastly.net", "adobe.com", "behance.net",
		"istockphoto.com", "gettyimages.com", "shutterstock.com", "imgur.com", "wetransfer.com",
		"ubuntu.com", "debian.org", "linuxmint.com", "fedoraproject.org", "mozilla.org", "videolan.org", "comixology.com"},
	"social":    {"linkedin.com", "licdn.com", "nextdoor.com"},
	"streaming": {"pbs.org", "npr.org", "c-span.org", "house.gov", "senate.gov", "vimeo.com", "microsoftstream.com"},
	"bypass":    nil,
	"security":  {"bitcoin.org", "villagevoice.com", "freerepublic.com", "lightinthebox.com"},
}

func TestShippedAllowEntriesAreReviewed(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("*.toml")
	if len(files) != len(reviewedAllow) {
		t.Errorf("%d list files, %d reviewed categories", len(files), len(reviewedAllow))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var lf struct {
			Category string   `toml:"category"`
			Allow    []string `toml:"allow"`
		}
		if _, err := toml.Decode(string(data), &lf); err != nil {
			t.Fatal(err)
		}
		want, ok := reviewedAllow[lf.Category]
		if !ok {
			t.Errorf("%s: category %q has no reviewed allow list", f, lf.Category)
			continue
		}
		got := slices.Clone(lf.Allow)
		slices.Sort(got)
		want = slices.Clone(want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: allow %v, reviewed %v", f, got, want)
		}
		// Every entry's line carries its reason (a comment), or belongs to a
		// group whose comment is on its line.
		inAllow := false
		for _, line := range strings.Split(string(data), "\n") {
			switch trimmed := strings.TrimSpace(line); {
			case strings.HasPrefix(trimmed, "allow = ["):
				inAllow = !strings.HasSuffix(trimmed, "]")
			case inAllow && strings.HasPrefix(trimmed, "]"):
				inAllow = false
			case inAllow && strings.HasPrefix(trimmed, `"`) && !strings.Contains(line, "#"):
				t.Errorf("%s: allow entries without a reason: %s", f, trimmed)
			}
		}
	}
}
