from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "supportgroup.accounts"
    label = "accounts"
    verbose_name = "Accounts"
