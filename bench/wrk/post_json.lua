-- wrk script: every request is a POST of one JSON document (an order of ~300 bytes).
-- Usage: wrk -s bench/wrk/post_json.lua URL
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"id":12345,"customer":{"name":"Ada Lovelace","email":"ada@example.com",' ..
  '"tags":["vip","early"]},"items":[{"sku":"A-100","qty":2,"price":9.99},' ..
  '{"sku":"B-220","qty":1,"price":24.5},{"sku":"C-310","qty":5,"price":1.25}],' ..
  '"paid":true,"note":"leave at the door","total":50.73}'
