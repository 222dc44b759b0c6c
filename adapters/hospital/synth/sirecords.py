"""The SI record VSS holds of a synthetic visit's patient: the person and the card the visit
was claimed under, so that a demo or test deployment that checks cards knows them."""

from __future__ import annotations

from adapters.hospital.synth.model import Visit
from gateway.records.model import Gender
from gateway.sirecords.model import HiCard, Person

_GENDERS: dict[int, Gender] = {1: "male", 2: "female", 3: "undetermined"}


def si_person(visit: Visit) -> Person:
    """The patient as the SI database holds them; the SI number is drawn from the citizen ID."""
    return Person(
        citizen_id=visit.so_cccd,
        si_number=visit.so_cccd[-10:],
        full_name=visit.ho_ten,
        date_of_birth=visit.ngay_sinh.isoformat(),
        gender=_GENDERS[visit.gioi_tinh],
    )


def si_card(visit: Visit) -> HiCard:
    """The card the visit is claimed under, with the validity the claim states."""
    return HiCard(
        number=visit.ma_the_bhyt,
        registered_facility=visit.ma_dkbd,
        valid_from=visit.gt_the_tu,
        valid_to=visit.gt_the_den,
        benefit_level=int(visit.ma_the_bhyt[2]),
    )
