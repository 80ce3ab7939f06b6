// passkey.js: the page's side of bulwark's passkey ceremonies
// (github.com/bulwark-go/bulwark/mfa/passkey). Served by
// passkey.ServeScript; no inline script, no dependency.
//
// It wires, when the page has loaded:
//   <button data-passkey-register data-begin="URL" data-finish="URL"
//           data-name-input="#css-selector">   register a passkey, then reload
//   <button data-passkey-login data-begin="URL" data-finish="URL?next=…">
//                                              log in without a password
//   <form data-passkey-mfa data-options='{"publicKey":…}'> with
//         <input type="hidden" name="passkey_credential">
//                                              the second factor: on submit
// Outcomes are set on the element as data-passkey-status ("busy", "done",
// "error") and, if the page has one, written into [data-passkey-message].
// window.bulwarkPasskey exposes register, login and assert for pages that
// drive the ceremonies themselves.
(function () {
  "use strict";

  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(o) {
    var pk = Object.assign({}, o.publicKey);
    pk.challenge = b64urlToBuf(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: b64urlToBuf(pk.user.id) });
    pk.excludeCredentials = (pk.excludeCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: b64urlToBuf(c.id) });
    });
    return { publicKey: pk };
  }

  function requestOptions(o) {
    var pk = Object.assign({}, o.publicKey);
    pk.challenge = b64urlToBuf(pk.challenge);
    pk.allowCredentials = (pk.allowCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: b64urlToBuf(c.id) });
    });
    return { publicKey: pk };
  }

  // toJSON writes a PublicKeyCredential as WebAuthn Level 3's toJSON().
  function toJSON(cred) {
    var r = cred.response, out = {
      id: cred.id, rawId: bufToB64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: bufToB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = bufToB64url(r.authenticatorData);
      out.response.signature = bufToB64url(r.signature);
      if (r.userHandle) out.response.userHandle = bufToB64url(r.userHandle);
    }
    return out;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: body === undefined ? "{}" : JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (j) {
        if (!resp.ok) throw new Error(j.error || ("HTTP " + resp.status));
        return j;
      });
    });
  }

  function register(beginURL, finishURL, name) {
    return post(beginURL).then(function (o) {
      return navigator.credentials.create(creationOptions(o));
    }).then(function (cred) {
      return post(finishURL, { name: name || "", credential: toJSON(cred) });
    });
  }

  function login(beginURL, finishURL) {
    return post(beginURL).then(function (o) {
      return navigator.credentials.get(requestOptions(o));
    }).then(function (cred) {
      return post(finishURL, toJSON(cred));
    });
  }

  function assert(options) {
    return navigator.credentials.get(requestOptions(options)).then(toJSON);
  }

  function status(el, s, msg) {
    el.setAttribute("data-passkey-status", s);
    var m = document.querySelector("[data-passkey-message]");
    if (m && msg) m.textContent = msg;
  }

  function run(el, p, done) {
    status(el, "busy");
    p.then(function (res) { status(el, "done", "Done."); done(res); },
      function (err) { status(el, "error", "Passkey: " + (err && err.message || err)); });
  }

  function wire() {
    document.querySelectorAll("[data-passkey-register]").forEach(function (el) {
      el.addEventListener("click", function (ev) {
        ev.preventDefault();
        var input = el.dataset.nameInput && document.querySelector(el.dataset.nameInput);
        run(el, register(el.dataset.begin, el.dataset.finish, input ? input.value : ""),
          function () { location.reload(); });
      });
    });
    document.querySelectorAll("[data-passkey-login]").forEach(function (el) {
      el.addEventListener("click", function (ev) {
        ev.preventDefault();
        run(el, login(el.dataset.begin, el.dataset.finish), function (res) {
          // next was judged by the server (identity.SafeNext); keep to paths.
          var next = res.next || "/";
          location.assign(next.charAt(0) === "/" && next.charAt(1) !== "/" ? next : "/");
        });
      });
    });
    document.querySelectorAll("form[data-passkey-mfa]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        var field = form.querySelector("input[name=passkey_credential]");
        if (field.value) return; // the assertion is in: post the form
        ev.preventDefault();
        run(form, assert(JSON.parse(form.dataset.options)), function (cred) {
          field.value = JSON.stringify(cred);
          form.submit();
        });
      });
    });
  }

  window.bulwarkPasskey = { register: register, login: login, assert: assert };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
  else wire();
})();
