// Signs in inside the DingTalk app (免登): the JSAPI gives a one-time code for the
// person using the app, the server turns it into a session, and the page goes on to
// where the visitor was heading. No click is needed; a failure offers DingTalk's
// login page instead.
(function () {
  "use strict";
  var box = document.getElementById("inapp-login");
  if (!box) {
    return;
  }
  function fail() {
    document.getElementById("inapp-status").hidden = true;
    document.getElementById("inapp-failed").hidden = false;
  }
  function signIn(code) {
    var body = new URLSearchParams();
    body.set("code", code);
    body.set("next", box.dataset.next || "/");
    body.set("_csrf", box.dataset.csrf || "");
    fetch("/auth/dingtalk/inapp", {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"Accept": "application/json"}
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok || !j.next) {
          throw new Error("sign-in refused");
        }
        window.location.replace(j.next);
      });
    }).catch(fail);
  }
  var dd = window.dd;
  if (!dd || !dd.runtime || !dd.runtime.permission) {
    fail();
    return;
  }
  var ask = function () {
    dd.runtime.permission.requestAuthCode({
      corpId: box.dataset.corpId,
      onSuccess: function (res) { signIn(res.code); },
      onFail: fail
    });
  };
  if (typeof dd.ready === "function") {
    dd.ready(ask);
  } else {
    ask();
  }
})();
