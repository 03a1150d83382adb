/**
 * The one table of file extensions a book's assets may have: which `static/<family>/` folder an imported
 * file goes to and the media type the servers answer with. Import, validate and the servers all read it,
 * so an extension import accepts can never be served as `application/octet-stream`. Pure. Kept by hand
 * rather than built on `mime-types`: the import family is ours anyway, and mime-db's choices for some of
 * these (ico, flac) differ from the types served (the tests use mime-db only as a list of candidates).
 */
export type ImportFamily = "img" | "videos" | "audio" | "slides";

interface MediaType {
  type: string;
  /** Where import puts a file with this extension found in a docs tree; none: served only (e.g. under static/). */
  family?: ImportFamily;
}

const TABLE: Readonly<Record<string, MediaType>> = {
  png: { type: "image/png", family: "img" },
  jpg: { type: "image/jpeg", family: "img" },
  jpeg: { type: "image/jpeg", family: "img" },
  gif: { type: "image/gif", family: "img" },
  svg: { type: "image/svg+xml", family: "img" },
  webp: { type: "image/webp", family: "img" },
  avif: { type: "image/avif", family: "img" },
  ico: { type: "image/x-icon", family: "img" },
  bmp: { type: "image/bmp", family: "img" },
  tif: { type: "image/tiff", family: "img" },
  tiff: { type: "image/tiff", family: "img" },
  mp4: { type: "video/mp4", family: "videos" },
  webm: { type: "video/webm", family: "videos" },
  mov: { type: "video/quicktime", family: "videos" },
  m4v: { type: "video/x-m4v", family: "videos" },
  ogv: { type: "video/ogg", family: "videos" },
  mp3: { type: "audio/mpeg", family: "audio" },
  wav: { type: "audio/wav", family: "audio" },
  ogg: { type: "audio/ogg", family: "audio" },
  m4a: { type: "audio/mp4", family: "audio" },
  flac: { type: "audio/flac", family: "audio" },
  aac: { type: "audio/aac", family: "audio" },
  pdf: { type: "application/pdf", family: "slides" },
  pptx: { type: "application/vnd.openxmlformats-officedocument.presentationml.presentation", family: "slides" },
  ppt: { type: "application/vnd.ms-powerpoint", family: "slides" },
  key: { type: "application/vnd.apple.keynote", family: "slides" },
  odp: { type: "application/vnd.oasis.opendocument.presentation", family: "slides" },
  json: { type: "application/json" },
  txt: { type: "text/plain" },
  md: { type: "text/markdown" },
};

/** The extensions import places into a `static/<family>/` folder. */
export const IMPORTED_EXTENSIONS: readonly string[] = Object.keys(TABLE).filter((ext) => TABLE[ext]!.family);

function entryOf(path: string): MediaType | undefined {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return dot > 0 ? TABLE[name.slice(dot + 1).toLowerCase()] : undefined;
}

/** The `static/` folder import puts a file with this name in, or undefined when it is not a known asset. */
export function importFamilyOf(path: string): ImportFamily | undefined {
  return entryOf(path)?.family;
}

/** The media type a server answers for this path (application/octet-stream for unknown extensions). */
export function mimeTypeOf(path: string): string {
  return entryOf(path)?.type ?? "application/octet-stream";
}
