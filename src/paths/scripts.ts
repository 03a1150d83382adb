/**
 * Which Unicode scripts a name mixes, judged by UTS #39's "moderately restrictive" profile: the check
 * that keeps a path segment from spelling one name in letters of look-alike alphabets. Pure.
 */

/**
 * Unicode scripts, the common ones first (a character is tested until one matches). Names V8 does
 * not know are skipped; a letter of none of them counts as script "Unknown".
 */
const SCRIPT_NAMES = (
  "Latin Han Arabic Cyrillic Greek Hiragana Katakana Hangul Bopomofo Devanagari Hebrew Thai Bengali Tamil Telugu Gujarati " +
  "Gurmukhi Kannada Malayalam Oriya Sinhala Armenian Georgian Ethiopic Khmer Lao Myanmar Tibetan Mongolian Thaana Syriac " +
  "Cherokee Canadian_Aboriginal Yi Nko Tifinagh Vai Javanese Balinese Sundanese Adlam Ahom Anatolian_Hieroglyphs Avestan Bamum " +
  "Bassa_Vah Batak Bhaiksuki Brahmi Braille Buginese Buhid Carian Caucasian_Albanian Chakma Cham Chorasmian Coptic Cuneiform " +
  "Cypriot Cypro_Minoan Deseret Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs Elbasan Elymaic Glagolitic Gothic Grantha " +
  "Gunjala_Gondi Hanifi_Rohingya Hanunoo Hatran Imperial_Aramaic Inscriptional_Pahlavi Inscriptional_Parthian Kaithi Kawi " +
  "Kayah_Li Kharoshthi Khitan_Small_Script Khojki Khudawadi Lepcha Limbu Linear_A Linear_B Lisu Lycian Lydian Mahajani Makasar " +
  "Mandaic Manichaean Marchen Masaram_Gondi Medefaidrin Meetei_Mayek Mende_Kikakui Meroitic_Cursive Meroitic_Hieroglyphs Miao " +
  "Modi Mro Multani Nabataean Nag_Mundari Nandinagari New_Tai_Lue Newa Nushu Nyiakeng_Puachue_Hmong Ogham Ol_Chiki " +
  "Old_Hungarian Old_Italic Old_North_Arabian Old_Permic Old_Persian Old_Sogdian Old_South_Arabian Old_Turkic Old_Uyghur Osage " +
  "Osmanya Pahawh_Hmong Palmyrene Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan Saurashtra Sharada " +
  "Shavian Siddham SignWriting Sogdian Sora_Sompeng Soyombo Syloti_Nagri Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Takri " +
  "Tangsa Tangut Tirhuta Toto Ugaritic Vithkuqi Wancho Warang_Citi Yezidi Zanabazar_Square"
)
  .split(" ")
  .flatMap((name) => {
    try {
      return [{ name, re: new RegExp(`^\\p{Script=${name}}$`, "u") }];
    } catch {
      return [];
    }
  });
/** Digits, punctuation, spaces, combining marks: shared by every script, ignored when judging a mix. */
const COMMON_OR_INHERITED = /^[\p{Script=Common}\p{Script=Inherited}]$/u;
const CJK_SETS = [
  ["Han", "Hiragana", "Katakana", "Latin"],
  ["Han", "Bopomofo", "Latin"],
  ["Han", "Hangul", "Latin"],
].map((set) => new Set(set));

function scriptOf(char: string): string | null {
  if (COMMON_OR_INHERITED.test(char)) return null;
  return SCRIPT_NAMES.find((s) => s.re.test(char))?.name ?? "Unknown";
}

/** The scripts of a segment's letters, in order of first appearance (Common and Inherited left out). */
export function scriptsOf(segment: string): string[] {
  // eslint-disable-next-line no-control-regex
  if (/^[\u0000-\u007f]*$/.test(segment)) return /[A-Za-z]/.test(segment) ? ["Latin"] : [];
  const seen: string[] = [];
  for (const char of segment) {
    const script = scriptOf(char);
    if (script && !seen.includes(script)) seen.push(script);
  }
  return seen;
}

/**
 * Pure: does this set of scripts pass UTS #39's "moderately restrictive" profile? One script; or
 * Latin plus one other that is not Cyrillic or Greek (the look-alike alphabets); or Chinese,
 * Japanese or Korean mixes (Han with Hiragana/Katakana, Bopomofo or Hangul, each with Latin).
 */
export function isModeratelyRestrictive(scripts: readonly string[]): boolean {
  if (scripts.length <= 1) return true;
  if (CJK_SETS.some((set) => scripts.every((s) => set.has(s)))) return true;
  return scripts.length === 2 && scripts.includes("Latin") && !scripts.includes("Cyrillic") && !scripts.includes("Greek");
}

export function describeScripts(scripts: readonly string[]): string {
  const names = scripts.map((s) => s.replace(/_/g, " "));
  return names.length === 2 ? `${names[0]} and ${names[1]}` : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}
