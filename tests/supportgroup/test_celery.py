from supportgroup.celery import app


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    names = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"journeys.tasks.publish_due_themes", "journeys.tasks.send_due_digests"} <= names
    assert names <= set(app.tasks), names - set(app.tasks)


def test_celery_runs_json_only_and_acks_late():
    conf = app.conf
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
