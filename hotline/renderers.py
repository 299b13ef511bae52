"""The API's JSON renderer (``REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"]``). A module of its
own: DRF imports it while defining ``APIView``, so it must not import DRF's views."""

import orjson
from rest_framework import renderers


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer, with the JSON written by orjson: the bytes DRF writes (compact,
    UTF-8, U+2028 and U+2029 escaped, a UTC moment ending in "Z", lazy texts and decimals
    through DRF's encoder), in a tenth of the time for a page of 50 orders (docs/benchmarks.md,
    sixth round). Two differences: a float with an exponent is written shorter (1.5e-7, where
    DRF writes 1.5e-07: the same number), and NaN and the infinities become null, where DRF's
    strict JSON would fail the request. Indented JSON (``Accept: application/json; indent=4``,
    the browsable API) and what orjson cannot write (integers beyond 64 bits, nesting deeper
    than 254) are left to DRF."""

    OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None or self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, default=self.encoder_class().default, option=self.OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        return body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
