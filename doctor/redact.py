"""Redaction: what a report shared outside this machine must not carry.

Every shareable output (``--format``s, ``--output`` files, matrix and diff tables, the CI job summary) is
redacted unless ``--no-redact`` is given:

- the home directory becomes ``~``;
- the user name and the host name are replaced only where they are identities, never as words in prose
  (a user named ``root`` must leave "the root cause" alone) nor as folders that merely share the name (a user
  named ``lib`` must leave ``/usr/lib`` alone): the user as the folder of a home (``/home/alice``,
  ``/Users/alice``, ``C:\\Users\\alice``, or beside this machine's home), either name around ``@``
  (``alice@buildbox``), as the whole value of an identity key (``"USER": "alice"``, ``"hostname": "vm"``) and,
  for names that contain a digit, dot, dash or underscore and so cannot be a word (``runner-7f3a``,
  ``alice-mbp.local``), as a whole token;
- NVIDIA GPU and MIG UUIDs become ``GPU-<uuid>``;
- the values of environment variables whose names look like secrets (tokens, passwords, keys) become
  ``<secret:NAME>`` wherever they appear, and so does any value whose key looks like a secret;
- so does the value of a command-line option named like one (``--hf-token=...``, ``--api-key ...``): the
  hardware probe reports the command lines of the processes on a GPU, and those of others' notebooks and
  training scripts can carry credentials.
"""

import getpass
import os
import re
import socket
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Pattern, Tuple

USER_PLACEHOLDER = "<user>"
HOST_PLACEHOLDER = "<host>"
# nvidia-smi -L and NVML print "GPU-" or "MIG-" and a UUID.
_GPU_UUID = re.compile(r"\b(GPU|MIG)-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
# Whole "_"-separated words (TOKENIZERS_PARALLELISM is no secret), or a name's last letters (PGPASSWORD);
# KEY alone ends KAGGLE_KEY, the Kaggle API's.
_SECRET_NAME = re.compile(r"(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY"
                          r"|CREDENTIALS?|AUTH)(_|$)|(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|_KEY)$")
_VARIABLE_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# A long option and its value, "--name=value" or "--name value" (quoted or not); traitlets spell Jupyter's
# options "--ServerApp.token=...".
_OPTION = re.compile(r"(?<![\w-])(--([A-Za-z][\w.-]*)(?:=|[ \t]+))(\"[^\"]*\"|'[^']*'|[^\s\"']+)")
# Shorter values would be replaced inside unrelated words.
_MIN_SECRET_LENGTH = 6
_WORDLIKE = re.compile(r"^[A-Za-z]+$")
_SEPARATORS = r"/\\"
# Folders that hold home folders: a user's name right below one is their home, not a word.
_HOMES_FOLDERS = ("/home/", "/Users/", "\\Users\\", "/users/")
# Keys whose whole value is a user or host name (environment variables, platform fields).
_IDENTITY_KEYS = frozenset(("user", "username", "logname", "login", "owner", "host", "hostname", "node", "nodename",
                            "computername", "userdomain"))


def looks_secret(name: str) -> bool:
    """An environment variable's name that says its value is a credential (HF_TOKEN, AWS_SECRET_ACCESS_KEY)."""
    return bool(_VARIABLE_NAME.match(name) and _SECRET_NAME.search(name))


def _hide_secret_option(match: "re.Match[str]") -> str:
    name = match.group(2).rsplit(".", 1)[-1].upper().replace("-", "_")
    if not looks_secret(name) or match.group(3).startswith("-"):
        return match.group(0)
    return "%s<secret:--%s>" % (match.group(1), match.group(2))


def _identity_pattern(name: str, homes_folders: Tuple[str, ...] = ()) -> Optional[Pattern[str]]:
    """Where ``name`` stands as an identity: the folder right below one of ``homes_folders``, either side of
    ``@``, or (when it cannot be a word) any whole token."""
    if not name:
        return None
    quoted = re.escape(name)
    alternatives = [r"(?<![\w.-])%s(?=@)|(?<=@)%s(?![\w-])" % (quoted, quoted)]
    if homes_folders:
        below = "|".join("(?<=%s)" % re.escape(folder) for folder in homes_folders)
        alternatives.append(r"(?:%s)%s(?=[%s]|$|[\s\"',;:)\]])" % (below, quoted, _SEPARATORS))
    if not _WORDLIKE.match(name):
        alternatives.append(r"(?<![\w.-])%s(?![\w-])" % quoted)
    return re.compile("|".join(alternatives))


@dataclass(frozen=True)
class Redactor:
    home: Optional[str]
    user: Optional[str]
    host: Optional[str]
    secrets: Tuple[Tuple[str, str], ...]  # (variable name, value), longest value first
    _rules: Tuple[Tuple[Pattern[str], str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rules = [(re.compile(re.escape(secret)), "<secret:%s>" % name) for name, secret in self.secrets]
        if self.home:
            home = re.escape(self.home.rstrip(_SEPARATORS))
            rules.append((re.compile(r"(?<![\w./\\-])%s(?=[%s]|$|[\s\"',;:)\]])" % (home, _SEPARATORS)), "~"))
        # The longer name first: a host named after its user (alice-mbp for alice) stays a host.
        identities = sorted(((self.user, USER_PLACEHOLDER), (self.host, HOST_PLACEHOLDER)),
                            key=lambda pair: -len(pair[0] or ""))
        for name, placeholder in identities:
            pattern = _identity_pattern(name or "", self._homes_folders() if placeholder == USER_PLACEHOLDER else ())
            if pattern is not None:
                rules.append((pattern, placeholder))
        object.__setattr__(self, "_rules", tuple(rules))

    def _homes_folders(self) -> Tuple[str, ...]:
        """The usual folders of home folders, and the one that holds this machine's home (not ``/`` for
        ``/root``: that would make every top-level folder a home)."""
        folders = list(_HOMES_FOLDERS)
        home = (self.home or "").rstrip(_SEPARATORS)
        cut = max(home.rfind("/"), home.rfind("\\"))
        if cut > 0:
            folders.append(home[:cut + 1])
        return tuple(dict.fromkeys(folders))

    @classmethod
    def for_this_machine(cls, environ: Optional[Mapping[str, str]] = None) -> "Redactor":
        environ = os.environ if environ is None else environ
        home = os.path.expanduser("~")
        try:
            user = getpass.getuser()
        except (KeyError, OSError, ImportError):
            user = None
        found = [(name, value) for name, value in environ.items()
                 if looks_secret(name) and len(value) >= _MIN_SECRET_LENGTH]
        secrets = tuple(sorted(found, key=lambda item: -len(item[1])))
        return cls(home=home if home not in ("", "/", "~") else None, user=user, host=socket.gethostname() or None,
                   secrets=secrets)

    def text(self, value: str) -> str:
        for pattern, replacement in self._rules:
            value = pattern.sub(replacement, value)
        value = _OPTION.sub(_hide_secret_option, value)
        return _GPU_UUID.sub(lambda match: "%s-<uuid>" % match.group(1), value)

    def document(self, value: Any, key: str = "") -> Any:
        """A JSON-like value with every string redacted, and values under secret-looking keys hidden."""
        if isinstance(value, str):
            if key and looks_secret(key) and value:
                return "<secret:%s>" % key
            if key.lower() in _IDENTITY_KEYS and value and value in (self.user, self.host):
                return USER_PLACEHOLDER if value == self.user else HOST_PLACEHOLDER
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(k) if isinstance(k, str) else k: self.document(v, k if isinstance(k, str) else "")
                    for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.document(item, key) for item in value]
        return value


def redactor_for(redact: bool, environ: Optional[Mapping[str, str]] = None) -> Optional[Redactor]:
    """This machine's redactor, or None under ``--no-redact``."""
    return Redactor.for_this_machine(environ) if redact else None
