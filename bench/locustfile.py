"""The mixed load on the Audit Logs product, for locust (bench/load.py runs it).

Readers (three in four) browse the Audit Logs page with random filters, open Info and page
back; writers change projects and chatbots and sign out and in again. Every write and every
sign-in carries an X-Request-ID of its own, which the server stores on the event it records;
each successful one is written to ACTIONS_FILE as {"request_id", "action"} so that
bench/load.py can check afterwards that each has exactly one event.

LOAD_HOSTS (comma-separated base URLs) spreads the simulated people over several web servers,
as a load balancer would; each keeps one server for its whole visit.
"""

import html
import json
import os
import random
import re
import threading
import uuid

from locust import HttpUser, between, task

PASSWORD = os.environ.get("LOAD_PASSWORD", "auditlogs-demo")
ORG = os.environ.get("LOAD_ORG", "acme")
HOSTS = [host for host in os.environ.get("LOAD_HOSTS", "").split(",") if host]
ACTIONS_FILE = os.environ.get("ACTIONS_FILE", "load-actions.jsonl")
LOG = f"/orgs/{ORG}/settings/audit-logs/"

_actions_lock = threading.Lock()
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
_PROJECT = re.compile(rf'href="/orgs/{ORG}/projects/([a-z0-9-]+)/"')
_PROJECT_OPTION = re.compile(r'<option value="(\d+)"')
_INFO = re.compile(r'hx-get="([^"]*/events/\d+/)"')
_OLDER = re.compile(r'href="(\?[^"]*cursor=[^"]+)"[^>]*>Older events<')


def chatbot_id(project_page: str, name: str) -> str | None:
    found = re.search(rf"<td>{name}</td>.*?chatbots/(\d+)/delete/", project_page, re.S)
    return found.group(1) if found else None


def note_action(request_id: str, action: str) -> None:
    with _actions_lock, open(ACTIONS_FILE, "a") as actions:
        actions.write(json.dumps({"request_id": request_id, "action": action}) + "\n")


def csrf_token(page: str) -> str:
    found = _CSRF_INPUT.search(page)
    if found:
        return found.group(1)
    return _CSRF_HEADER.search(page).group(1)


class Person(HttpUser):
    abstract = True
    emails: list[str] = []

    def on_start(self):
        if HOSTS:
            self.client.base_url = random.choice(HOSTS)
        self.email = random.choice(self.emails)
        self.sign_in()

    def sign_in(self):
        page = self.client.get("/accounts/login/", name="sign-in form").text
        self.post_action(
            "/accounts/login/", "user.logged_in", name="sign in",
            data={"username": self.email, "password": PASSWORD,
                  "csrfmiddlewaretoken": csrf_token(page)},
        )

    def post_action(self, path: str, action: str, name: str, data: dict) -> bool:
        """A write: success is the redirect that follows it (not followed, so that the
        next page's own events do not share this request id)."""
        request_id = uuid.uuid4().hex
        with self.client.post(
            path, data=data, name=name, allow_redirects=False, catch_response=True,
            headers={"X-Request-ID": request_id, "Referer": self.client.base_url + path},
        ) as response:
            if response.status_code != 302:
                response.failure(f"expected a redirect, got {response.status_code}")
                return False
            response.success()
        note_action(request_id, action)
        return True


class Reader(Person):
    """Owners, admins and a member looking at the Audit Logs page."""

    weight = 3
    wait_time = between(0.5, 2)
    emails = ["owner@acme.test", "admin@acme.test", "member@acme.test"]

    @task(4)
    def browse_with_filters(self):
        page = self.client.get(LOG, name="audit logs").text
        query = {"range": random.choice(["24h", "7d", "30d", "90d", "all"])}
        if random.random() < 0.5:
            query["severity"] = random.choice(["info", "warning", "critical"])
        projects = _PROJECT_OPTION.findall(page)
        if projects and random.random() < 0.4:
            query["project"] = random.choice(projects)
        if random.random() < 0.2:
            query["q"] = random.choice(["deleted", "Support", "owner@acme.test", "api"])
        page = self.client.get(
            LOG, params=query, headers={"HX-Request": "true"}, name="audit logs (filtered)"
        ).text
        self.open_info(page)

    @task(2)
    def page_back(self):
        page = self.client.get(LOG, params={"range": "all"}, name="audit logs").text
        for _ in range(random.randint(1, 4)):
            older = _OLDER.search(page)
            if older is None:
                break
            page = self.client.get(
                LOG + html.unescape(older.group(1)), headers={"HX-Request": "true"},
                name="audit logs (older page)",
            ).text
        self.open_info(page)

    def open_info(self, page: str):
        infos = _INFO.findall(page)
        if infos:
            self.client.get(random.choice(infos), headers={"HX-Request": "true"},
                            name="event info")


class Writer(Person):
    """Admins changing projects and chatbots, and signing out and in again."""

    weight = 1
    wait_time = between(1, 3)
    emails = ["owner@acme.test", "admin@acme.test"]

    def project_slug(self) -> str:
        dashboard = self.client.get(f"/orgs/{ORG}/", name="dashboard").text
        return random.choice([slug for slug in _PROJECT.findall(dashboard) if slug != "new"])

    @task(3)
    def edit_project(self):
        slug = self.project_slug()
        path = f"/orgs/{ORG}/projects/{slug}/edit/"
        form = self.client.get(path, name="project edit form").text
        name = html.unescape(re.search(r'name="name"[^>]*value="([^"]*)"', form).group(1))
        self.post_action(path, "project.updated", name="project edit", data={
            "name": name, "description": f"Load test {uuid.uuid4().hex[:12]}",
            "csrfmiddlewaretoken": csrf_token(form),
        })

    @task(2)
    def view_project(self):
        request_id = uuid.uuid4().hex
        slug = self.project_slug()
        response = self.client.get(f"/orgs/{ORG}/projects/{slug}/", name="project page",
                                   headers={"X-Request-ID": request_id})
        if response.ok:
            note_action(request_id, "project.viewed")

    @task(2)
    def add_then_remove_a_chatbot(self):
        slug = self.project_slug()
        base = f"/orgs/{ORG}/projects/{slug}"
        form = self.client.get(f"{base}/chatbots/new/", name="chatbot form").text
        bot_name = f"load-{uuid.uuid4().hex[:10]}"
        created = self.post_action(
            f"{base}/chatbots/new/", "chatbot.created", name="chatbot create",
            data={"name": bot_name, "instructions": "Be brief.", "model_name": "gpt-4o-mini",
                  "temperature": "0.5", "api_key": "sk-load-test",
                  "csrfmiddlewaretoken": csrf_token(form)},
        )
        request_id = uuid.uuid4().hex
        project = self.client.get(f"{base}/", name="project page",
                                  headers={"X-Request-ID": request_id})
        if project.ok:
            note_action(request_id, "project.viewed")
        bot_id = chatbot_id(project.text, bot_name) if created else None
        if bot_id:
            self.post_action(f"{base}/chatbots/{bot_id}/delete/", "chatbot.deleted",
                             name="chatbot delete",
                             data={"csrfmiddlewaretoken": csrf_token(project.text)})

    @task(1)
    def sign_out_and_in(self):
        dashboard = self.client.get(f"/orgs/{ORG}/", name="dashboard").text
        if self.post_action("/accounts/logout/", "user.logged_out", name="sign out",
                            data={"csrfmiddlewaretoken": csrf_token(dashboard)}):
            self.sign_in()
