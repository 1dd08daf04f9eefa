"""An encrypt_code mangled by a URL is repaired once; a "+" at either end too (it was stripped
as a space, so ~3 % of codes failed to decrypt when passed through a query string)."""

from bff.ground.wechat.api import normalise_encrypt_code


def test_plus_signs_read_as_spaces_come_back_at_either_end() -> None:
    assert normalise_encrypt_code(" ab cd ") == "+ab+cd+"
    assert normalise_encrypt_code("%2Bab%2Bcd%3D") == "+ab+cd="
    assert normalise_encrypt_code("+ab/cd=\n") == "+ab/cd="
    assert normalise_encrypt_code(normalise_encrypt_code(" ab")) == "+ab"
