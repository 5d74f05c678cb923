"""The compiler's floor: how it writes and reads files — atomic writes and sha256
(:mod:`.io`), staging folders (:mod:`.staging`), manifests (:mod:`.manifest`) and the library
versions they record (:mod:`.versions`). Imports nothing above it."""
