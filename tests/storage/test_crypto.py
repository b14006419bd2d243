from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.crypto import InvalidKeyError, TokenCipher, TokenDecryptionError

TOKEN = "pmp-api-token-3f9a1c"


def test_round_trip_and_ciphertext_hides_plaintext() -> None:
    cipher = TokenCipher.from_keys([TokenCipher.generate_key()])
    first = cipher.encrypt(TOKEN)
    second = cipher.encrypt(TOKEN)
    assert TOKEN not in first
    assert first != second  # random IV: equal tokens do not give equal ciphertexts
    assert cipher.decrypt(first) == TOKEN
    assert cipher.decrypt(second) == TOKEN


def test_unicode_round_trip() -> None:
    cipher = TokenCipher.from_keys([TokenCipher.generate_key()])
    assert cipher.decrypt(cipher.encrypt("jeton-é-ß-✓")) == "jeton-é-ß-✓"


def test_wrong_key_gives_a_clear_error_without_secrets() -> None:
    key_a, key_b = TokenCipher.generate_key(), TokenCipher.generate_key()
    ciphertext = TokenCipher.from_keys([key_a]).encrypt(TOKEN)
    with pytest.raises(TokenDecryptionError) as caught:
        TokenCipher.from_keys([key_b]).decrypt(ciphertext)
    message = str(caught.value)
    assert "PMP_BOT_SECRET_KEY" in message
    assert key_a not in message and key_b not in message and TOKEN not in message


@pytest.mark.parametrize("garbage", ["", "not-a-fernet-token", "gAAAAAB" + "x" * 50, "ü"])
def test_garbage_ciphertext_is_a_decryption_error(garbage: str) -> None:
    cipher = TokenCipher.from_keys([TokenCipher.generate_key()])
    with pytest.raises(TokenDecryptionError):
        cipher.decrypt(garbage)
    with pytest.raises(TokenDecryptionError):
        cipher.rotate(garbage)


def test_rotation_first_key_encrypts_all_keys_decrypt() -> None:
    old_key, new_key = TokenCipher.generate_key(), TokenCipher.generate_key()
    old_cipher = TokenCipher.from_keys([old_key])
    rotating = TokenCipher.from_keys([new_key, old_key])
    new_only = TokenCipher.from_keys([new_key])

    stored_with_old = old_cipher.encrypt(TOKEN)
    assert rotating.decrypt(stored_with_old) == TOKEN
    assert not rotating.is_current(stored_with_old)

    written_now = rotating.encrypt(TOKEN)
    assert new_only.decrypt(written_now) == TOKEN
    assert rotating.is_current(written_now)
    with pytest.raises(TokenDecryptionError):
        old_cipher.decrypt(written_now)

    rotated = rotating.rotate(stored_with_old)
    assert rotated != stored_with_old
    assert new_only.decrypt(rotated) == TOKEN


def test_from_keys_names_the_bad_key_position_without_echoing_it() -> None:
    good = TokenCipher.generate_key()
    with pytest.raises(InvalidKeyError, match="Key 2 ") as caught:
        TokenCipher.from_keys([good, "short-and-wrong"])
    assert "short-and-wrong" not in str(caught.value)


def test_from_keys_needs_at_least_one_key() -> None:
    with pytest.raises(InvalidKeyError):
        TokenCipher.from_keys([])


def test_from_keys_rejects_a_lone_string() -> None:
    with pytest.raises(TypeError):
        TokenCipher.from_keys(TokenCipher.generate_key())


def test_keys_are_stripped_and_bytes_accepted() -> None:
    key = Fernet.generate_key()
    cipher = TokenCipher.from_keys([b"  " + key + b"\n"])
    assert Fernet(key).decrypt(cipher.encrypt(TOKEN).encode()).decode() == TOKEN


def test_repr_never_shows_keys() -> None:
    keys = [TokenCipher.generate_key(), TokenCipher.generate_key()]
    cipher = TokenCipher.from_keys(keys)
    assert repr(cipher) == "TokenCipher(keys=2)"
    assert cipher.key_count == 2
    for key in keys:
        assert key not in repr(cipher) and key not in str(cipher)


def test_generated_keys_are_distinct_fernet_keys() -> None:
    first, second = TokenCipher.generate_key(), TokenCipher.generate_key()
    assert first != second
    Fernet(first)  # raises if malformed
    assert len(first) == 44
