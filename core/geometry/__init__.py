"""Room and object geometry from a metric depth map: pure numpy (scipy only for image morphology).

Modules, one job each:

* :mod:`.camera` — intrinsics (field of view, focal length, EXIF, default lens) and back-projection;
* :mod:`.planes` — vectorised RANSAC plane fitting;
* :mod:`.room` — floor, walls, ceiling, Manhattan snapping and the world frame / camera pose;
* :mod:`.boxes` — upright 3D boxes of objects from a mask and the depth map;
* :mod:`.amodal` — sides of an object cut off by the frame or hidden, and completing them;
* :mod:`.box_yaw` — which way an object runs (its faces' direction, or the room's for a strip of it);
* :mod:`.boxes2d` — IoU of 2D image boxes (one definition for NMS, the second look and ground-truth pairing).
"""
from .camera import (DEFAULT_FOCAL_MM, DEFAULT_SENSOR_MM, Intrinsics, back_project, intrinsics_from_exif,
                     intrinsics_from_focal, intrinsics_from_fov, resolve_intrinsics)
from .room import RoomEstimate, estimate_room
from .boxes import ObjectBox, object_box

__all__ = ["DEFAULT_FOCAL_MM", "DEFAULT_SENSOR_MM", "Intrinsics", "back_project", "intrinsics_from_exif",
           "intrinsics_from_focal", "intrinsics_from_fov", "resolve_intrinsics", "RoomEstimate", "estimate_room",
           "ObjectBox", "object_box"]
