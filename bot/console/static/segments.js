// Live audience counts for the segment builder and the campaign composer.
// A form with data-count-url gets its audience counted as its pickers and
// expression change (debounced); the answer is drawn into the element
// named by data-count-target (default #seg-count). Without this script the
// forms still work: their buttons submit and the server renders the count.
(function () {
  "use strict";
  var KEYS = ["group", "town", "interest", "active", "expr", "segment"];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function num(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function params(form) {
    var out = new URLSearchParams();
    new FormData(form).forEach(function (v, k) {
      if (KEYS.indexOf(k) >= 0 && v !== "") { out.append(k, v); }
    });
    return out;
  }

  function table(head, rows) {
    var t = el("table");
    var th = el("thead");
    var tr = el("tr");
    tr.appendChild(el("th", "", head));
    tr.appendChild(el("th", "", "人数"));
    th.appendChild(tr);
    t.appendChild(th);
    var tb = el("tbody");
    (rows || []).forEach(function (r) {
      if (!r.count) { return; }
      var row = el("tr");
      row.appendChild(el("td", "", r.name));
      row.appendChild(el("td", "", num(r.count)));
      tb.appendChild(row);
    });
    t.appendChild(tb);
    return t;
  }

  function draw(target, data, compact) {
    target.textContent = "";
    if (data.error) {
      target.appendChild(el("p", "error", "受众条件有误：" + data.error));
      if (data.has_position) {
        var p = el("p", "seg-mark");
        var code = el("code");
        code.appendChild(document.createTextNode(data.before || ""));
        code.appendChild(el("mark", "", data.at || "\u00a0"));
        code.appendChild(document.createTextNode(data.after || ""));
        p.appendChild(code);
        target.appendChild(p);
      }
      return;
    }
    var total = el("p", "seg-total");
    total.appendChild(el("span", "big", num(data.count)));
    total.appendChild(document.createTextNode(" 人可以收到 "));
    var small = el("small", "", "条件：");
    small.appendChild(el("code", "", data.expr || "全部关注者"));
    total.appendChild(small);
    target.appendChild(total);
    if (compact) { return; }
    var bd = el("div", "seg-breakdown");
    bd.appendChild(table("镇街", data.towns));
    bd.appendChild(table("人群", data.groups));
    target.appendChild(bd);
  }

  function wire(form) {
    var url = form.getAttribute("data-count-url");
    var target = document.getElementById(form.getAttribute("data-count-target") || "seg-count");
    var compact = form.hasAttribute("data-count-compact");
    if (!target) { return; }
    var timer = null;
    var seq = 0;
    function refresh() {
      var mine = ++seq;
      target.classList.add("loading");
      fetch(url + "?" + params(form).toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) { if (mine === seq) { draw(target, data, compact); } })
        .catch(function () { if (mine === seq) { draw(target, { error: "暂时无法统计人数，请稍后重试" }, compact); } })
        .then(function () { if (mine === seq) { target.classList.remove("loading"); } });
    }
    function later() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    }
    form.addEventListener("change", later);
    form.addEventListener("input", later);
    if (form.hasAttribute("data-count-now")) { refresh(); }
  }

  // The save form saves what the builder shows now, not what was last
  // submitted: copy the builder's fields in before it goes.
  function wireSave(save, builder) {
    save.addEventListener("submit", function () {
      Array.prototype.slice.call(save.querySelectorAll("input[type=hidden]")).forEach(function (i) {
        if (KEYS.indexOf(i.name) >= 0) { i.parentNode.removeChild(i); }
      });
      params(builder).forEach(function (v, k) {
        var i = el("input");
        i.type = "hidden";
        i.name = k;
        i.value = v;
        save.appendChild(i);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.slice.call(document.querySelectorAll("form[data-count-url]")).forEach(wire);
    var save = document.getElementById("seg-save");
    var builder = document.getElementById("seg-builder");
    if (save && builder) { wireSave(save, builder); }
  });
})();
