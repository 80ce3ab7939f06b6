// Package webauthntest is a software WebAuthn authenticator for the
// suite's Go tests: ES256 keys, real signatures, real CBOR ("none"
// attestation, COSE keys), and the client's part (clientDataJSON with the
// challenge and origin). It answers the options a relying party sends
// ({"publicKey": …}, as go-webauthn marshals them) with the
// PublicKeyCredential JSON a browser's toJSON() writes, so that tests
// drive the server's handlers exactly as a page does. It is not a mock of
// the suite's code: what it writes is what the specification says an
// authenticator writes, and each field can be made wrong on purpose.
package webauthntest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// Authenticator flags (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

// An Authenticator holds discoverable ES256 credentials, like a platform
// passkey provider. Its fields say how it behaves; set them before use.
// It is safe for concurrent use.
type Authenticator struct {
	// AAGUID names the model (zero for most synced passkeys).
	AAGUID [16]byte
	// UserVerification: the authenticator verifies the user (sets UV).
	UserVerification bool
	// BackupEligible and BackupState are the BE and BS flags it reports.
	BackupEligible, BackupState bool
	// Counter: the signature counter grows by one per signature; without
	// it the counter stays 0 (a synced passkey).
	Counter bool

	mu    sync.Mutex
	creds []*Credential
}

// A Credential is one key pair the authenticator holds.
type Credential struct {
	ID         []byte
	RPID       string
	UserHandle []byte
	Key        *ecdsa.PrivateKey
	SignCount  uint32
}

// New returns an authenticator that verifies users and counts
// signatures (a security key); set Counter false for a synced passkey.
func New() *Authenticator { return &Authenticator{UserVerification: true, Counter: true} }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(trimPad(s))
}

func trimPad(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}

// creationOptions is the part of PublicKeyCredentialCreationOptions an
// authenticator reads.
type creationOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		PubKeyCredParams []struct {
			Alg int `json:"alg"`
		} `json:"pubKeyCredParams"`
		ExcludeCredentials []struct {
			ID string `json:"id"`
		} `json:"excludeCredentials"`
	} `json:"publicKey"`
}

// ErrExcluded is returned by Register when the authenticator holds a
// credential of the exclude list (the browser's InvalidStateError).
var ErrExcluded = errors.New("webauthntest: the authenticator holds an excluded credential")

// Register answers creation options (the JSON a registration begin
// answers) from a page at origin: it makes a new credential and returns
// the PublicKeyCredential JSON (toJSON form) with a "none" attestation.
func (a *Authenticator) Register(options []byte, origin string) ([]byte, *Credential, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, nil, fmt.Errorf("webauthntest: creation options: %w", err)
	}
	pk := o.PublicKey
	es256 := false
	for _, p := range pk.PubKeyCredParams {
		es256 = es256 || p.Alg == -7
	}
	if !es256 {
		return nil, nil, errors.New("webauthntest: the options do not allow ES256 (-7)")
	}
	handle, err := unb64(pk.User.ID)
	if err != nil || len(handle) == 0 {
		return nil, nil, fmt.Errorf("webauthntest: user.id %q: %v", pk.User.ID, err)
	}
	challenge, err := unb64(pk.Challenge)
	if err != nil {
		return nil, nil, fmt.Errorf("webauthntest: challenge: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ex := range pk.ExcludeCredentials {
		id, _ := unb64(ex.ID)
		for _, c := range a.creds {
			if string(c.ID) == string(id) {
				return nil, nil, ErrExcluded
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	id := make([]byte, 32)
	rand.Read(id)
	c := &Credential{ID: id, RPID: pk.RP.ID, UserHandle: handle, Key: key}
	if a.Counter {
		c.SignCount = 1
	}
	a.creds = append(a.creds, c)

	authData := a.authData(c.RPID, flagUP|flagAT|a.flags(), c.SignCount)
	authData = append(authData, a.AAGUID[:]...)
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(id)))
	authData = append(authData, id...)
	authData = append(authData, coseKey(&key.PublicKey)...)
	var att cbor
	att.mapHeader(3)
	att.text("fmt")
	att.text("none")
	att.text("attStmt")
	att.mapHeader(0)
	att.text("authData")
	att.bytes(authData)
	clientData := clientDataJSON("webauthn.create", challenge, origin)
	out, err := json.Marshal(map[string]any{
		"id": b64(id), "rawId": b64(id), "type": "public-key", "authenticatorAttachment": "platform",
		"clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64(clientData),
			"attestationObject": b64(att.buf),
			"transports":        []string{"internal", "hybrid"},
		},
	})
	return out, c, err
}

// flags are the UV, BE and BS flags the authenticator reports.
func (a *Authenticator) flags() byte {
	var f byte
	if a.UserVerification {
		f |= flagUV
	}
	if a.BackupEligible {
		f |= flagBE
	}
	if a.BackupState {
		f |= flagBS
	}
	return f
}

func (a *Authenticator) authData(rpID string, flags byte, count uint32) []byte {
	h := sha256.Sum256([]byte(rpID))
	d := append(h[:], flags)
	return binary.BigEndian.AppendUint32(d, count)
}

func clientDataJSON(typ string, challenge []byte, origin string) []byte {
	b, _ := json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, b64(challenge), origin, false})
	return b
}

// requestOptions is the part of PublicKeyCredentialRequestOptions an
// authenticator reads.
type requestOptions struct {
	PublicKey struct {
		Challenge        string `json:"challenge"`
		RPID             string `json:"rpId"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

// Assertion says how [Authenticator.Assert] answers; its zero value
// answers the options faithfully, for Origin.
type Assertion struct {
	// Origin is the page's origin, as the browser writes it in
	// clientDataJSON.
	Origin string
	// Credential picks the credential by id; nil: the first allowed one
	// the authenticator holds, or (a discoverable login) its first for the
	// RP ID.
	Credential []byte
	// Challenge replaces the options' challenge (an assertion made for
	// another ceremony).
	Challenge []byte
	// RPID replaces the RP ID whose hash is signed.
	RPID string
	// NoUserVerification clears UV for this assertion.
	NoUserVerification bool
	// NoUserHandle leaves userHandle out.
	NoUserHandle bool
	// UserHandle, if set, replaces the credential's user handle.
	UserHandle []byte
	// SignCount, if set, is the counter reported instead of the next one.
	SignCount *uint32
	// BackupEligible, if set, replaces the BE flag.
	BackupEligible *bool
	// BadSignature flips a bit of the signature.
	BadSignature bool
}

// Assert answers request options (the JSON a login begin or mfa.Prompt
// carries) as Assertion says, and returns the PublicKeyCredential JSON
// (toJSON form).
func (a *Authenticator) Assert(options []byte, as Assertion) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("webauthntest: request options: %w", err)
	}
	pk := o.PublicKey
	challenge, err := unb64(pk.Challenge)
	if err != nil {
		return nil, fmt.Errorf("webauthntest: challenge: %w", err)
	}
	if as.Challenge != nil {
		challenge = as.Challenge
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.pick(pk.RPID, as.Credential, pk.AllowCredentials)
	if c == nil {
		return nil, errors.New("webauthntest: no credential of the authenticator fits the options (NotAllowedError)")
	}
	if as.SignCount != nil {
		c.SignCount = *as.SignCount
	} else if a.Counter {
		c.SignCount++
	}
	rpID := c.RPID
	if as.RPID != "" {
		rpID = as.RPID
	}
	flags := flagUP | a.flags()
	if as.NoUserVerification {
		flags &^= flagUV
	}
	if as.BackupEligible != nil {
		flags &^= flagBE | flagBS
		if *as.BackupEligible {
			flags |= flagBE
		}
	}
	authData := a.authData(rpID, flags, c.SignCount)
	clientData := clientDataJSON("webauthn.get", challenge, as.Origin)
	cdHash := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte(nil), authData...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.Key, digest[:])
	if err != nil {
		return nil, err
	}
	if as.BadSignature {
		sig[len(sig)-1] ^= 1
	}
	resp := map[string]any{
		"clientDataJSON":    b64(clientData),
		"authenticatorData": b64(authData),
		"signature":         b64(sig),
	}
	switch {
	case as.NoUserHandle:
	case as.UserHandle != nil:
		resp["userHandle"] = b64(as.UserHandle)
	default:
		resp["userHandle"] = b64(c.UserHandle)
	}
	return json.Marshal(map[string]any{
		"id": b64(c.ID), "rawId": b64(c.ID), "type": "public-key", "authenticatorAttachment": "platform",
		"clientExtensionResults": map[string]any{}, "response": resp,
	})
}

func (a *Authenticator) pick(rpID string, want []byte, allow []struct {
	ID string `json:"id"`
}) *Credential {
	for _, c := range a.creds {
		switch {
		case want != nil:
			if string(c.ID) == string(want) {
				return c
			}
		case len(allow) == 0:
			if c.RPID == rpID {
				return c
			}
		default:
			for _, al := range allow {
				if id, _ := unb64(al.ID); string(id) == string(c.ID) {
					return c
				}
			}
		}
	}
	return nil
}

// Credentials returns the authenticator's credentials, oldest first.
func (a *Authenticator) Credentials() []*Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*Credential(nil), a.creds...)
}

// coseKey is the COSE_Key of an ES256 public key (RFC 9053 §7.1.1):
// {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}.
func coseKey(k *ecdsa.PublicKey) []byte {
	raw, _ := k.Bytes() // uncompressed point 0x04 || x || y; P-256 never fails
	var c cbor
	c.mapHeader(5)
	c.int(1)
	c.int(2)
	c.int(3)
	c.int(-7)
	c.int(-1)
	c.int(1)
	c.int(-2)
	c.bytes(raw[1:33])
	c.int(-3)
	c.bytes(raw[33:65])
	return c.buf
}

// cbor writes the few CBOR items (RFC 8949) attestation needs.
type cbor struct{ buf []byte }

func (c *cbor) head(major byte, n uint64) {
	switch {
	case n < 24:
		c.buf = append(c.buf, major<<5|byte(n))
	case n < 1<<8:
		c.buf = append(c.buf, major<<5|24, byte(n))
	case n < 1<<16:
		c.buf = binary.BigEndian.AppendUint16(append(c.buf, major<<5|25), uint16(n))
	default:
		c.buf = binary.BigEndian.AppendUint32(append(c.buf, major<<5|26), uint32(n))
	}
}

func (c *cbor) int(v int64) {
	if v >= 0 {
		c.head(0, uint64(v))
		return
	}
	c.head(1, uint64(-1-v))
}

func (c *cbor) bytes(b []byte)  { c.head(2, uint64(len(b))); c.buf = append(c.buf, b...) }
func (c *cbor) text(s string)   { c.head(3, uint64(len(s))); c.buf = append(c.buf, s...) }
func (c *cbor) mapHeader(n int) { c.head(5, uint64(n)) }
