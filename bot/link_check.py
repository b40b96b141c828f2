"""Image links in a prompt, and /describe's `link`, checked before any job exists: the scheme, and every
address the host resolves to (midway/fetch.py's rule, the operator's MIDWAY_FETCH_ALLOW_HOSTS included).
A `file://` link or one to a private address is then refused at once, ephemerally, instead of failing a
job on the worker: in /imagine's prompt, in a Remix modal's edited prompt (only the links the remix adds:
its parent's passed when it was made), and in /describe's `link`.

What only a download shows (a non-image, a truncated file, a decompression bomb, a redirect to a
private address) stays the worker's to find: it fetches each link once, under the same rule, and fails
the job with the reason. A resolver slower than LINK_CHECK_TIMEOUT_S leaves the link to the worker too,
so a slow DNS answer cannot cost the reply its 3 s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from midway.blobs import is_ref
from midway.contract import GenerationSpec
from midway.fetch import FetchError, checked_address, policy_from_text

LINK_CHECK_TIMEOUT_S = 0.8
# The ephemeral reply's heading; the refusal's reason follows on the next line.
REFUSED = "**Cannot use the image link**"


def links_of(specs: list[GenerationSpec]) -> list[str]:
    """The distinct image links the specs' jobs would fetch (uploads are blob refs, already here)."""
    links = (url for spec in specs
             for url in (*spec.image_urls, *spec.style_refs, *spec.character_refs, *spec.omni_refs))
    return list(dict.fromkeys(url for url in links if not is_ref(url)))


async def unfetchable_link(specs: list[GenerationSpec], allow_hosts: str,
                           known: Collection[str] = ()) -> str | None:
    """Why one of the specs' links will not be fetched, or None when all pass (or the check ran late).
    `known` links passed before (a remixed job's parent's) and are not looked up again."""
    return await unfetchable([url for url in links_of(specs) if url not in known], allow_hosts)


async def unfetchable(links: list[str], allow_hosts: str) -> str | None:
    """Why one of `links` will not be fetched, or None when all pass (or the check ran late)."""
    if not links:
        return None
    policy = policy_from_text(allow_hosts)

    def first_refusal() -> str | None:
        for url in links:
            try:
                checked_address(url, policy)
            except FetchError as error:
                return str(error)
        return None

    try:
        return await asyncio.wait_for(asyncio.to_thread(first_refusal), LINK_CHECK_TIMEOUT_S)
    except TimeoutError:
        return None
