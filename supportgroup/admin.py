from django.contrib import admin
from django.db import models

from .models import CrisisResource


@admin.register(CrisisResource)
class CrisisResourceAdmin(admin.ModelAdmin):
    list_display = ["name", "region", "phone", "text_number", "group", "order", "is_active"]
    list_editable = ["order", "is_active"]
    list_filter = ["is_active", ("group", admin.EmptyFieldListFilter), "region"]
    search_fields = ["name", "region", "group__name"]
    list_select_related = ["group"]
    autocomplete_fields = ["group"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("name", "description", "region", "hours")}),
        ("How to reach them", {"fields": ("phone", "text_number", "url")}),
        (
            "Where it shows",
            {
                "fields": ("group", "order", "is_active"),
                "description": "Without a group it shows on every help page; with a group, "
                "first on that group's help page only.",
            },
        ),
    )
