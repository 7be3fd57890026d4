"""The demo world covers every case-record model, and seeding twice changes nothing."""

from __future__ import annotations

from cases import models as m


def test_demo_seed_covers_every_model_and_is_idempotent(db):
    from agencies.demo import seed

    # given the demo seed (agencies, people, agreement, cases, then each app's hook)
    seed(log=lambda line: None)
    counts = {
        model: model.objects.count()
        for model in (
            m.Nominal,
            m.Case,
            m.Victim,
            m.Referral,
            m.RiskAssessment,
            m.Order,
            m.OrderEvent,
            m.Condition,
            m.Breach,
            m.RiskManagementPlan,
            m.Action,
            m.ActionUpdate,
            m.Note,
        )
    }
    # then every model has realistic rows
    assert all(counts.values()), counts
    assert set(m.RiskAssessment.objects.values_list("tool", flat=True)) == {"sdash", "sash", "srp", "oasys"}
    assert m.Order.objects.filter(order_type="spo", notification_due_on__isnull=False).exists()
    assert m.Nominal.objects.filter(pnc_index__isnull=False, nhs_index__isnull=False).exists()
    marsh = m.Case.objects.filter(status="active").exclude(risk_level="").first()
    assert marsh is not None and marsh.plans.count() == 2
    # and the values decrypt
    assert any(n.aliases for n in m.Nominal.objects.all())
    # when it runs again nothing new is made
    seed(log=lambda line: None)
    assert counts == {model: model.objects.count() for model in counts}
