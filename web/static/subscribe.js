// Subscribe page: copy buttons next to each feed link. Without this script the buttons
// stay hidden and the links can be selected in their read-only fields.
(function () {
  'use strict';
  var buttons = document.querySelectorAll('[data-copy]');
  Array.prototype.forEach.call(buttons, function (b) {
    b.hidden = false;
    var label = b.textContent;
    b.addEventListener('click', function () {
      var text = b.getAttribute('data-copy');
      var done = function () {
        b.textContent = b.getAttribute('data-done');
        setTimeout(function () { b.textContent = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { selectField(b); });
        return;
      }
      if (selectField(b) && document.execCommand && document.execCommand('copy')) { done(); }
    });
  });
  function selectField(b) {
    var field = b.parentNode.querySelector('input');
    if (!field) { return false; }
    field.focus();
    field.select();
    field.setSelectionRange(0, field.value.length);
    return true;
  }
  Array.prototype.forEach.call(document.querySelectorAll('input.feed-url'), function (f) {
    f.addEventListener('focus', function () { f.select(); });
  });
}());
