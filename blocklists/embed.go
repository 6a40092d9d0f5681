package blocklists

import (
	"embed"
	"io/fs"
)

//go:embed *.toml data
var shipped embed.FS

// Shipped returns the category lists built into the binary: adult,
// gambling, filesharing and chat (the citywide minimum) and social,
// streaming and bypass for departments to add.
func Shipped() fs.FS { return shipped }

// ShippedDir names the built-in lists in messages.
const ShippedDir = "(built-in)"
