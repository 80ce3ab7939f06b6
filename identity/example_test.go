package identity_test

import (
	"fmt"

	"github.com/bulwark-go/bulwark/identity"
)

// A login handler follows "next" only when SafeNext accepts it, and
// otherwise sends the user to a default page.
func ExampleSafeNext() {
	hosts := []string{"bulwark.test"}
	for _, next := range []string{
		"/account?tab=security",
		"https://bulwark.test/admin/",
		"//evil.example/",
		`/\evil.example`,
		"/\t/evil.example",
		"https:evil.example",
		"javascript:alert(1)",
	} {
		target := "/account"
		if identity.SafeNext(next, hosts, true) {
			target = next
		}
		fmt.Printf("%-30q -> %s\n", next, target)
	}
	// Output:
	// "/account?tab=security"        -> /account?tab=security
	// "https://bulwark.test/admin/"  -> https://bulwark.test/admin/
	// "//evil.example/"              -> /account
	// "/\\evil.example"              -> /account
	// "/\t/evil.example"             -> /account
	// "https:evil.example"           -> /account
	// "javascript:alert(1)"          -> /account
}
