"""Errors of Stage 1, so that callers can tell bad input from a broken bundle."""

REGENERATE_HINT = "regenerate it with scripts/generate_reference.py"


class ReferenceInputError(ValueError):
    """An input (video, first frame, mask, generator id, option) cannot make a reference."""


class BundleError(RuntimeError):
    """A saved reference bundle cannot be loaded as it is."""


class ModelUnavailableError(ReferenceInputError):
    """A pretrained model (generator, segmenter) is neither on disk nor downloadable."""


def model_unavailable(what: str, model_id: str, err: Exception, local_flag: str, offline_choice: str):
    """The one-line error for a model that could not be loaded: what it is, why, and the user's choices."""
    reason = (str(err).strip().splitlines() or [err.__class__.__name__])[0]
    reason = reason if len(reason) <= 160 else reason[:157] + "..."
    return ModelUnavailableError(
        f"{what} '{model_id}' could not be loaded: it is not in the local Hugging Face cache and could not be "
        f"downloaded ({reason}). Choices: download it once with internet access (`hf download {model_id}`, then "
        f"copy the cache or set HF_HOME to it), point {local_flag} at a local folder saved with save_pretrained, "
        f"or {offline_choice}."
    )
