/* Prints "cp target" for every code point whose UTS #39 skeleton (ICU uspoof) is a short ASCII string
   of letters, digits or . - _ and differs from the character itself. */
#include <stdio.h>
#include <string.h>
#include <unicode/uspoof.h>
#include <unicode/uchar.h>
#include <unicode/ustring.h>
int main(void) {
  UErrorCode st = U_ZERO_ERROR;
  USpoofChecker *sc = uspoof_open(&st);
  if (U_FAILURE(st)) { fprintf(stderr, "open %s\n", u_errorName(st)); return 1; }
  for (UChar32 c = 0x80; c <= 0x10FFFF; c++) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    if (!u_isdefined(c)) continue;
    UChar in[3]; int32_t n = 0; U16_APPEND_UNSAFE(in, n, c);
    UChar out[32]; st = U_ZERO_ERROR;
    int32_t len = uspoof_getSkeleton(sc, 0, in, n, out, 32, &st);
    if (U_FAILURE(st) || len == 0 || len > 3) continue;
    int ok = 1; char buf[8];
    for (int i = 0; i < len; i++) {
      UChar u = out[i];
      if (!((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '.' || u == '-' || u == '_')) { ok = 0; break; }
      buf[i] = (char)u;
    }
    if (!ok) continue;
    buf[len] = 0;
    printf("%X %s\n", c, buf);
  }
  uspoof_close(sc);
  return 0;
}
