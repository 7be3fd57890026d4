from django.urls import path

from . import views

app_name = "agencies"
urlpatterns = [
    path("signin/", views.signin, name="login"),
    path("signin/verify/", views.verify, name="verify"),
    path("signin/enrol/", views.enrol, name="enrol"),
    path("signout/", views.signout, name="logout"),
    path("signout/everywhere/", views.signout_everywhere, name="logout_everywhere"),
]
