from django.urls import path

from .views import inbox, settings, tracking, triggers

app_name = "notifications"

urlpatterns = [
    path("", inbox.alerts, name="inbox"),
    path("badge/", inbox.badge, name="badge"),
    path("<int:pk>/read/", inbox.alert_read, name="alert_read"),
    path("read-all/", inbox.alerts_read_all, name="alerts_read_all"),
    path("tasks/", inbox.my_tasks, name="tasks"),
    path("tasks/<int:pk>/toggle/", inbox.task_toggle, name="task_toggle"),
    path("orders/<int:pk>/panel/", inbox.order_panel, name="order_panel"),
    path("track/<str:token>/", tracking.track, name="track"),
    path("settings/", settings.automation_home, name="settings"),
    path("settings/triggers/", triggers.trigger_list, name="triggers"),
    path("settings/triggers/new/", triggers.trigger_edit, name="trigger_new"),
    path("settings/triggers/log/", triggers.trigger_log, name="trigger_log_all"),
    path("settings/triggers/template/<slug:code>/", triggers.trigger_from_template, name="trigger_from_template"),
    path("settings/triggers/<int:pk>/", triggers.trigger_edit, name="trigger_edit"),
    path("settings/triggers/<int:pk>/toggle/", triggers.trigger_toggle, name="trigger_toggle"),
    path("settings/triggers/<int:pk>/delete/", triggers.trigger_delete, name="trigger_delete"),
    path("settings/triggers/<int:pk>/dry-run/", triggers.trigger_dry_run, name="trigger_dry_run"),
    path("settings/triggers/<int:pk>/log/", triggers.trigger_log, name="trigger_log"),
    path("settings/time-limits/", settings.time_limits, name="time_limits"),
    path("settings/time-limits/<int:pk>/delete/", settings.time_limit_delete, name="time_limit_delete"),
    path("settings/holidays/", settings.holiday_add, name="holiday_add"),
    path("settings/holidays/<int:pk>/delete/", settings.holiday_delete, name="holiday_delete"),
    path("settings/templates/", settings.message_templates, name="templates"),
    path("settings/templates/defaults/", settings.install_templates, name="install_templates"),
    path("settings/templates/<int:pk>/", settings.message_templates, name="template_edit"),
    path("settings/delivery-windows/", settings.delivery_windows, name="windows"),
    path("settings/delivery-windows/<int:pk>/delete/", settings.delivery_window_delete, name="window_delete"),
    path("settings/webhooks/", settings.webhook_list, name="webhooks"),
    path("settings/webhooks/<int:pk>/", settings.webhook_detail, name="webhook_detail"),
    path("settings/webhooks/<int:pk>/action/", settings.webhook_action, name="webhook_action"),
    path("settings/webhooks/deliveries/<int:pk>/resend/", settings.delivery_resend, name="delivery_resend"),
]
