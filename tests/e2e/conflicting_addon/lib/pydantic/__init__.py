"""Not pydantic: a stand-in for another add-on's old copy."""

VERSION = "1.10.99"
