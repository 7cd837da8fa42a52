"""The Admin API documents the client sends, in one place.

Server-side counterpart: ``packaging/vendure-plugin`` (``uploadMlModel``, ``mlModel``,
``rollbackMlModel``). Kept apart from the code so a schema change is one diff here.
"""

from __future__ import annotations

_CHANNELS = "channels { id code token permissions }"

LOGIN = f"""
mutation($username: String!, $password: String!, $rememberMe: Boolean) {{
  login(username: $username, password: $password, rememberMe: $rememberMe) {{
    __typename
    ... on CurrentUser {{ id identifier {_CHANNELS} }}
    ... on ErrorResult {{ errorCode message }}
  }}
}}"""

ME = f"query {{ me {{ id identifier {_CHANNELS} }} }}"

LOGOUT = "mutation { logout { success } }"

# updatedAt of the product and of each asset: the catalogue's change stamps, so a
# listing alone (no download) tells whether anything changed.
_ASSET = "id source preview mimeType fileSize updatedAt"
PRODUCTS = f"""
query($skip: Int!, $take: Int!) {{
  products(options: {{skip: $skip, take: $take, sort: {{id: ASC}}}}) {{
    totalItems
    items {{
      id name enabled updatedAt
      featuredAsset {{ {_ASSET} }}
      assets {{ {_ASSET} }}
    }}
  }}
}}"""

PRODUCT_IDS = """
query($skip: Int!, $take: Int!) {
  products(options: {skip: $skip, take: $take, sort: {id: ASC}}) { totalItems items { id } }
}"""

VARIANT_PHOTOS = f"""
query($ids: [String!]!, $take: Int!) {{
  products(options: {{filter: {{id: {{in: $ids}}}}, take: $take}}) {{
    items {{ id variants {{ featuredAsset {{ {_ASSET} }} assets {{ {_ASSET} }} }} }}
  }}
}}"""

PRODUCT_NAMES = """
query($ids: [String!]!, $take: Int!) {
  products(options: {filter: {id: {in: $ids}}, take: $take}) { items { id name } }
}"""

_VERSION_FIELDS = "version trainedAt createdAt current files { name size sha256 } metadata"

LATEST_PATH = "query { mlModel { latestPath } }"
ACTIVE_CHANNEL = "query { activeChannel { id code } }"

ML_MODEL = f"""
query {{ mlModel {{ channelId latestPath current {{ {_VERSION_FIELDS} }}
  versions {{ {_VERSION_FIELDS} }} }} }}"""

UPLOAD = f"""
mutation($modelJson: Upload!, $weights: Upload!, $metadata: Upload!) {{
  uploadMlModel(modelJson: $modelJson, weights: $weights, metadata: $metadata) {{
    {_VERSION_FIELDS}
  }}
}}"""

ROLLBACK = f"""
mutation($version: String!) {{ rollbackMlModel(version: $version) {{ {_VERSION_FIELDS} }} }}"""
