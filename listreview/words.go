package listreview

import "strings"

// categoryWords are words that suggest a category when a domain's own
// label holds them. They are evidence for a person to weigh, never a
// verdict. Short, ambiguous words count only at the start or end of the
// label ("essex" holds "sex" in the middle), and still lead astray at times
// ("alphabet" ends in "bet"): the review shows them beside the queries.
var categoryWords = []struct {
	category string
	words    []string // anywhere in the label
	edges    []string // only at its start or end
}{
	{"gambling", []string{"casino", "poker", "betting", "sportsbook", "bingo", "lotto", "lottery", "jackpot", "roulette", "blackjack", "wager", "bookmaker", "slots"}, []string{"bet", "spin"}},
	{"adult", []string{"porn", "xxx", "nude", "naked", "escort", "hentai", "milf", "fetish", "nsfw", "erotic", "camgirl"}, []string{"sex", "cams", "adult"}},
	{"filesharing", []string{"torrent", "warez", "usenet", "debrid", "repack", "pirate", "crack"}, []string{"nzb", "upload", "leech"}},
	{"chat", []string{"chat", "messenger", "jabber", "xmpp"}, []string{"irc", "talk"}},
}

// wordsIn finds the category words in a registrable domain's first label.
func wordsIn(domain string) []Word {
	label, _, _ := strings.Cut(domain, ".")
	var out []Word
	for _, c := range categoryWords {
		for _, w := range c.words {
			if strings.Contains(label, w) {
				out = append(out, Word{c.category, w})
			}
		}
		for _, w := range c.edges {
			if strings.HasPrefix(label, w) || strings.HasSuffix(label, w) {
				out = append(out, Word{c.category, w})
			}
		}
	}
	return out
}
