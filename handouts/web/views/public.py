from django.http import Http404


def page(request, clinic, language, condition, kind):
    raise Http404()
