"""The declarative model of the resources: each input declared once, everything else derived from it.

``rules`` (single values), ``tags`` (the three tag forms), ``live`` (a read-only view of a listed image),
``schema`` (the generic declaration types and what is derived from them), ``expected`` (recognising the images
a request makes), and one module per resource declaration (``private_image``).
"""
