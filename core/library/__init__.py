"""The asset library: catalogue (published CSV format), its vocabulary (label → class), background textures and
the derived-data store (template renders, poses, collision proxies, embeddings).

Importing this package needs only the stdlib and numpy (it runs inside Blender too);
``bake_bpy`` needs bpy and is imported by the build scripts only, never from here.
"""
from .catalogue import Catalogue, Problem, load_catalogue, write_catalogue
from .vocabulary import LabelMatch, Vocabulary, vocabulary_for
from .store import FeatureStore
from .textures import TextureRecord, load_textures

__all__ = ["Catalogue", "Problem", "load_catalogue", "write_catalogue",
           "Vocabulary", "LabelMatch", "vocabulary_for",
           "FeatureStore", "TextureRecord", "load_textures"]
