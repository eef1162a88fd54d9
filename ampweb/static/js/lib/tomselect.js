// Tom Select as an ES module. The vendored complete build is a UMD script that
// sets globalThis.TomSelect when imported (see vendor/VENDORED.md).

import "../../vendor/tom-select/tom-select.complete.min.js";

export default globalThis.TomSelect;
