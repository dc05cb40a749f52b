// Phone view: open each chat at its newest message, as a phone does.
document.querySelectorAll('.phone .chat').forEach(function (chat) {
  chat.scrollTop = chat.scrollHeight;
});
