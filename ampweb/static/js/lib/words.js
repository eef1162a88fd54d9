// Counted nouns and articles for text the pages make: "1 server", "3 servers",
// "an AS path length". The same rules as ampy/words.py (ampy's messages and
// the templates' filters); tests/unit/test_words.py checks both against one table of cases.

/** Plurals that do not add "s" (the nouns the pages count). */
const IRREGULAR = { address: "addresses", match: "matches", query: "queries", entry: "entries" };
/** Letters whose names start with a vowel sound: "an HTTP", "an SNMP", "a UDP". */
const VOWEL_LETTERS = new Set("AEFHILMNORSX");
/** Words that start with a vowel letter but a consonant sound: "a unique", "a one-way". */
const CONSONANT_SOUNDS = ["uni", "use", "usu", "one", "eu"];

/** `noun` for `count` things: the noun itself for exactly 1, else its plural. */
export function plural(noun, count = 2) {
  if (count === 1) return noun;
  const words = noun.split(" ");
  let last = words.pop();
  if (Object.hasOwn(IRREGULAR, last)) last = IRREGULAR[last];
  else if (/(s|x|ch|sh)$/.test(last)) last += "es";
  else if (/[^aeiou]y$/.test(last)) last = last.slice(0, -1) + "ies";
  else last += "s";
  return [...words, last].join(" ");
}

/** "1 server", "2 servers", "1,234 streams"; "no servers" for 0, null or undefined. */
export function counted(count, noun) {
  if (!count) return `no ${plural(noun)}`;
  const number =
    Number.isInteger(count) || Math.abs(count) >= 100
      ? Math.round(count).toLocaleString("en")
      : String(Number(count.toPrecision(3)));
  return `${number} ${plural(noun, count)}`;
}

/** "a" or "an" for `phrase`, by sound: an AS path, a UDP jitter, an hour-long. */
export function article(phrase) {
  const word = String(phrase).trim().split(" ")[0] || "";
  if (!word) return "a";
  if (word.length > 1 && word === word.toUpperCase() && /[A-Z]/.test(word)) {
    return VOWEL_LETTERS.has(word[0]) ? "an" : "a";
  }
  const lower = word.toLowerCase();
  if (CONSONANT_SOUNDS.some((start) => lower.startsWith(start))) return "a";
  if (["hour", "honest", "honour"].some((start) => lower.startsWith(start))) return "an";
  return "aeiou".includes(lower[0]) ? "an" : "a";
}

/** `phrase` after its article: "an AS path length". */
export function withArticle(phrase) {
  return `${article(phrase)} ${phrase}`;
}

/** A title inside a sentence: "Latency" -> "latency"; acronyms stay ("AS path"). */
export function sentenceCase(title) {
  const [first, ...rest] = String(title).split(" ");
  let word = first;
  if (word.length === 1 || (word.length > 1 && word.slice(1) === word.slice(1).toLowerCase() && /[a-z]/.test(word.slice(1)))) {
    word = word.toLowerCase();
  }
  return [word, ...rest].join(" ");
}
