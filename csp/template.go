package csp

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
)

// TemplateFuncs returns the package's html/template functions, to add with
// Funcs before parsing (templates are parsed once, at startup):
//
//	cspNonce  the response's nonce; give it the request or its context:
//	          <script nonce="{{cspNonce .Request}}">…</script>
//
// The function reads the nonce from what the template is executed with, so
// one parsed template serves every request. (Passing csp.Nonce(r.Context())
// in the data works as well.) In Lazy mode calling it is what makes the
// nonce.
func TemplateFuncs() template.FuncMap {
	return template.FuncMap{"cspNonce": templateNonce}
}

func templateNonce(v any) (string, error) {
	switch x := v.(type) {
	case *http.Request:
		return Nonce(x.Context()), nil
	case context.Context:
		return Nonce(x), nil
	}
	return "", fmt.Errorf("cspNonce: give it the *http.Request or its context.Context, not %T", v)
}
