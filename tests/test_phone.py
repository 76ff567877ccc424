import pytest

from hotspotd.errors import InvalidInput
from hotspotd.phone import mask, normalise


@pytest.mark.parametrize("typed", ["0712345678", "+254712345678", "254712345678", "712345678",
                                   "0712 345 678", "0712-345-678", " 254 712 345 678 "])
def test_every_usual_way_of_typing_a_number_gives_254_plus_9_digits(typed):
    assert normalise(typed) == "254712345678"


def test_01_numbers_are_mobile_too():
    assert normalise("0110123456") == "254110123456"


@pytest.mark.parametrize("typed", ["", "12345", "0201234567", "+255712345678", "07123456789", "hello"])
def test_not_a_kenyan_mobile_number_is_refused_with_a_message(typed):
    with pytest.raises(InvalidInput, match="0712 345 678"):
        normalise(typed)


def test_mask_keeps_only_prefix_and_last_three():
    assert mask("254708374149") == "2547*****149"
    assert mask(None) == ""
