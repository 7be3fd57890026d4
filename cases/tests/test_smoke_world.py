from cases.models import Case
from sharing import policy


def test_the_test_world_builds_and_the_owner_sees_the_case(world):
    # given the small world
    case = world.case
    # then its lead agency's practitioner sees it, and an outsider does not
    assert policy.can_view_case(world.police_practitioner, case)
    assert not policy.can_view_case(world.outsider_practitioner, case)
    assert set(policy.cases_visible_to(world.health_practitioner)) == {Case.objects.get(pk=case.pk)}
