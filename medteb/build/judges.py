"""The judges of ``medteb build``: OpenAI-compatible endpoints read from a judges file."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medteb.endpoint import RetryPolicy
from medteb.errors import BuildInputError, JudgeError


class JudgeConfig(BaseModel):
    """One OpenAI-compatible chat-completions endpoint used as an LLM judge or generator."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$", description="short id used in outputs")
    base_url: str = Field(description="e.g. https://api.deepseek.com/v1")
    model: str
    api_key_env: str = Field(description="name of the environment variable with the API key")
    concurrency: int = Field(4, ge=1, le=512)
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(8, ge=0, description="retries on timeouts, 408/409/429 and 5xx")
    parse_retries: int = Field(2, ge=0, description="re-asks after malformed JSON")
    backoff_s: float = Field(1.0, ge=0)
    backoff_max_s: float = Field(60.0, ge=0)
    temperature: float = 0.0
    max_tokens: int | None = Field(None, ge=1)

    @property
    def retry(self) -> RetryPolicy:
        """How failed requests are retried (:mod:`medteb.endpoint`, as for served models)."""
        return RetryPolicy(self.max_retries, self.backoff_s, self.backoff_max_s)

    def api_key(self) -> str:
        """The API key, read from the environment only when a call is about to be made."""
        key = os.environ.get(self.api_key_env)
        if not key:
            raise JudgeError(f"judge {self.name!r}: environment variable {self.api_key_env} is "
                             f"not set; export {self.api_key_env}=<API key for {self.base_url}>")
        return key


def load_judges(path: str | os.PathLike) -> list[JudgeConfig]:
    """Read judges from a YAML or JSON file: ``{"judges": [{name, base_url, model, ...}]}``.

    Raises:
        BuildInputError: the file is missing, unreadable or a judge does not validate.
    """
    import yaml

    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise BuildInputError(f"{file}: cannot read the judges file ({err})") from err
    items = data.get("judges") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise BuildInputError(f'{file}: expected a top-level "judges:" list with at least one '
                              "judge (name, base_url, model, api_key_env)")
    judges, problems = [], []
    for i, item in enumerate(items):
        try:
            judges.append(JudgeConfig.model_validate(item))
        except ValidationError as err:
            for e in err.errors():
                loc = ".".join(str(p) for p in e["loc"])
                problems.append(f"judges[{i}].{loc}: {e['msg']}")
    names = [j.name for j in judges]
    problems += [f"judge name {n!r} is used twice" for n in sorted({n for n in names
                                                                    if names.count(n) > 1})]
    if problems:
        raise BuildInputError(f"{file}: " + "; ".join(problems))
    return judges
