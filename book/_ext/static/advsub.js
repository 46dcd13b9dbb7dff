/* advsub book: search snippets without raw LaTeX or the page's launch/download menus
   (issue 11, item 12). Sphinx builds a result's snippet from the page's HTML source, in
   which maths is still TeX (\(\Pi w_i\)) and the article header's menus are text. */
(function () {
  "use strict";
  var TEX = [
    [/\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])/g, ""], [/\\[lr]Vert|\\\|/g, "‖"],
    [/\\[lr]vert/g, "|"], [/\\ell(?![A-Za-z])/g, "ℓ"], [/\\alpha(?![A-Za-z])/g, "α"], [/\\beta(?![A-Za-z])/g, "β"],
    [/\\gamma(?![A-Za-z])/g, "γ"], [/\\delta(?![A-Za-z])/g, "δ"], [/\\varepsilon\b|\\epsilon(?![A-Za-z])/g, "ε"],
    [/\\eta(?![A-Za-z])/g, "η"], [/\\theta(?![A-Za-z])/g, "θ"], [/\\lambda(?![A-Za-z])/g, "λ"], [/\\mu(?![A-Za-z])/g, "μ"],
    [/\\sigma(?![A-Za-z])/g, "σ"], [/\\Pi(?![A-Za-z])/g, "Π"], [/\\pi(?![A-Za-z])/g, "π"], [/\\chi(?![A-Za-z])/g, "χ"],
    [/\\nabla(?![A-Za-z])/g, "∇"], [/\\perp(?![A-Za-z])/g, "⊥"], [/\\leq?(?![A-Za-z])/g, "≤"], [/\\geq?(?![A-Za-z])/g, "≥"],
    [/\\approx(?![A-Za-z])/g, "≈"], [/\\sim(?![A-Za-z])/g, "~"], [/\\cdot(?![A-Za-z])/g, "·"], [/\\times(?![A-Za-z])/g, "×"],
    [/\\in(?![A-Za-z])/g, "∈"], [/\\sum(?![A-Za-z])/g, "Σ"], [/\\infty(?![A-Za-z])/g, "∞"], [/\\to(?![A-Za-z])/g, "→"],
    [/\\sqrt(?![A-Za-z])/g, "√"], [/\\mathbb\s*\{?R\}?/g, "ℝ"], [/\\mathbb\s*\{?E\}?/g, "E"],
    [/\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, "$1/$2"],
    [/\\(?:mathrm|mathbf|mathcal|mathbb|operatorname|text|textrm|boldsymbol)(?![A-Za-z])/g, ""],
    [/\\[,;:! ]/g, " "], [/\\[a-zA-Z]+/g, ""], [/[{}]/g, ""], [/\s+/g, " "]
  ];
  function plainMath(tex) {
    var s = tex.trim().replace(/^(\\\(|\\\[|\$\$?)/, "").replace(/(\\\)|\\\]|\$\$?)$/, "");
    TEX.forEach(function (rule) { s = s.replace(rule[0], rule[1]); });
    return s.trim();
  }
  var DROP = [".headerlink", "script", "style", ".bd-header-article", ".header-article-items",
              ".article-header-buttons", ".dropdown-launch-buttons", ".dropdown-download-buttons",
              ".prev-next-area", ".bd-footer-article", ".advsub-explorer-note", "#pst-header",
              ".cell.tag_hide-input .cell_input", ".bd-sidebar-secondary", ".bd-toc",
              ".onthispage", ".tocsection", "nav"];
  function htmlToText(htmlString, anchor) {
    var doc = new DOMParser().parseFromString(htmlString, "text/html");
    DROP.forEach(function (q) { doc.querySelectorAll(q).forEach(function (el) { el.remove(); }); });
    doc.querySelectorAll(".math").forEach(function (el) {
      el.textContent = " " + plainMath(el.textContent) + " ";
    });
    var main = doc.querySelector('[role="main"]') || doc.body;
    var part = anchor ? doc.querySelector('[role="main"] ' + anchor) : null;
    return ((part || main).textContent || "").replace(/\s+/g, " ");
  }
  function patch() {
    // searchtools.js declares `const Search` (a global binding, not a window property).
    if (typeof Search !== "undefined" && !Search.__advsub) {
      Search.htmlToText = htmlToText;
      Search.__advsub = true;
    }
  }
  window.advsubPlainMath = plainMath;

  // Maths that overflows its box scrolls (advsub.css); fade the side(s) with more.
  var WIDE = 'span.math, div.math mjx-container, mjx-container[display="true"]';
  function fade(el) {
    // a few pixels of a glyph's overhang (a root sign at the end) is not "more"
    var more = el.scrollWidth - el.clientWidth;
    var math = el.querySelector("mjx-math");
    if (math) {
      more = Math.min(more, math.getBoundingClientRect().width - el.clientWidth);
    }
    el.classList.toggle("advsub-scrolls", more > 4);
    if (more > 4) {
      el.style.setProperty("--advsub-fade-left", el.scrollLeft > 1 ? "2.5em" : "0px");
      el.style.setProperty("--advsub-fade-right", el.scrollLeft < more - 1 ? "2.5em" : "0px");
    }
  }
  function markWide() {
    document.querySelectorAll(WIDE).forEach(function (el) {
      fade(el);
      if (!el.__advsubFade) {
        el.__advsubFade = true;
        el.addEventListener("scroll", function () { fade(el); }, {passive: true});
      }
    });
  }
  function afterMath() {
    var ready = window.MathJax && MathJax.startup && MathJax.startup.promise;
    (ready ? MathJax.startup.promise : Promise.resolve()).then(markWide);
  }
  window.addEventListener("load", afterMath);
  window.addEventListener("resize", markWide);
  patch();
  document.addEventListener("DOMContentLoaded", patch);
})();
